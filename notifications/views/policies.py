"""On-call and notifications pages for escalation policies: list and create, detail with steps, and
where a policy is used (services, team defaults)."""

from django.shortcuts import render
from django.views.decorators.http import require_POST

from incidents.views.pagination import lookahead_page
from notifications import selectors
from notifications.forms import AttachForm, PolicyForm, StepForm
from notifications.models import EscalationPolicy, EscalationStep
from notifications.services import policies as services
from opsplatform.core.access import get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit


def _policy(request, pk, capability) -> EscalationPolicy:
    queryset = selectors.policy_with_steps(EscalationPolicy.objects.select_related("team"))
    return get_for_write_or_404(request, queryset, capability, pk=pk)


def _to_detail(policy):
    return ("notifications:policy_detail", policy.pk)


@requires(Capability.TEAM_VIEW, post=Capability.ESCALATION_MANAGE)
def policy_list(request):
    form = PolicyForm(organization=request.organization)
    status = 200
    if request.method == "POST":
        form = PolicyForm(request.POST, organization=request.organization)
        done = submit(
            request,
            form,
            lambda data: services.policy_create(actor=request.actor, **data),
            success=lambda policy: f"Policy “{policy.name}” created. Add its first step.",
            redirect_to=_to_detail,
        )
        if done.response:
            return done.response
        status = done.status
    context = {
        "page": lookahead_page(
            selectors.policies_for_list(request.organization), request.GET.get("page"), 25
        ),
        "form": form,
        "open_new": form.is_bound or "new" in request.GET,
        "can_manage": request.actor.can(Capability.ESCALATION_MANAGE),
    }
    return render(request, "notifications/policy_list.html", context, status=status)


def _detail(request, policy, *, form=None, step_form=None, attach_form=None, status=200):
    org = request.organization
    services_ = selectors.policy_services(policy)
    teams = selectors.policy_default_teams(policy)
    initial = {
        "name": policy.name,
        "description": policy.description,
        "team": policy.team,
        "repeat_count": policy.repeat_count,
    }
    context = {
        "policy": policy,
        "steps": policy.steps.all(),
        "attached_services": services_,
        "default_teams": teams,
        "form": form or PolicyForm(initial=initial, organization=org),
        "step_form": step_form or StepForm(organization=org),
        "attach_form": attach_form
        or AttachForm(initial={"services": services_, "default_for_teams": teams}, organization=org),
        "can_manage": request.actor.can(Capability.ESCALATION_MANAGE),
    }
    return render(request, "notifications/policy_detail.html", context, status=status)


@requires(Capability.TEAM_VIEW, post=Capability.ESCALATION_MANAGE)
def policy_detail(request, pk):
    if request.method != "POST":
        return _detail(request, _policy(request, pk, Capability.TEAM_VIEW))
    policy = _policy(request, pk, Capability.ESCALATION_MANAGE)
    form = PolicyForm(request.POST, organization=request.organization)
    done = submit(
        request,
        form,
        lambda data: services.policy_update(actor=request.actor, policy=policy, **data),
        success="Policy saved.",
        redirect_to=_to_detail(policy),
    )
    return done.response or _detail(request, policy, form=form, status=done.status)


@require_POST
@requires(Capability.ESCALATION_MANAGE)
def step_add(request, pk):
    policy = _policy(request, pk, Capability.ESCALATION_MANAGE)
    form = StepForm(request.POST, organization=request.organization)
    done = submit(
        request,
        form,
        lambda data: services.step_append(
            actor=request.actor,
            policy=policy,
            spec=services.StepSpec(
                delay_minutes=data["delay_minutes"], round_robin=data["round_robin"], targets=form.targets()
            ),
        ),
        success="Step added.",
        redirect_to=_to_detail(policy),
    )
    return done.response or _detail(request, policy, step_form=form, status=done.status)


@require_POST
@requires(Capability.ESCALATION_MANAGE)
def step_delete(request, pk, step_pk):
    policy = _policy(request, pk, Capability.ESCALATION_MANAGE)
    step = get_for_write_or_404(
        request, EscalationStep, Capability.ESCALATION_MANAGE, pk=step_pk, policy=policy
    )
    return act(
        request,
        lambda: services.step_remove(actor=request.actor, step=step),
        success="Step removed.",
        redirect_to=_to_detail(policy),
    )


@require_POST
@requires(Capability.ESCALATION_MANAGE)
def policy_attach(request, pk):
    policy = _policy(request, pk, Capability.ESCALATION_MANAGE)
    form = AttachForm(request.POST, organization=request.organization)
    done = submit(
        request,
        form,
        lambda data: services.policy_attach(actor=request.actor, policy=policy, **data),
        success="Services and team defaults saved.",
        redirect_to=_to_detail(policy),
    )
    return done.response or _detail(request, policy, attach_form=form, status=done.status)


@require_POST
@requires(Capability.ESCALATION_MANAGE)
def policy_delete(request, pk):
    policy = _policy(request, pk, Capability.ESCALATION_MANAGE)
    return act(
        request,
        lambda: services.policy_delete(actor=request.actor, policy=policy),
        success=f"Policy “{policy.name}” deleted.",
        redirect_to="notifications:policy_list",
        refused_to=_to_detail(policy),
    )
