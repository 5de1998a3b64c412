"""Escalation policy pages: list and create, detail with steps, attachment to services and teams."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifications import selectors
from notifications.forms import AttachForm, PolicyForm, StepForm
from notifications.models import EscalationPolicy, EscalationStep
from notifications.services import escalation as services
from opsplatform.core.access import member_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import add_service_errors, first_error
from opsplatform.core.tenancy import get_in_organization_or_404


def _policy(request, pk) -> EscalationPolicy:
    queryset = selectors.policy_with_steps(EscalationPolicy.objects.select_related("team"))
    return get_in_organization_or_404(queryset, request.organization, pk=pk)


@member_required
def policy_list(request):
    actor = request.actor
    actor.require(Capability.TEAM_VIEW)
    form = PolicyForm(organization=request.organization)
    if request.method == "POST":
        actor.require(Capability.ESCALATION_MANAGE)
        form = PolicyForm(request.POST, organization=request.organization)
        if form.is_valid():
            try:
                policy = services.policy_create(actor=actor, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Policy “{policy.name}” created. Add its first step.")
                return redirect("notifications:policy_detail", pk=policy.pk)
    context = {
        "policies": selectors.policies_for_list(request.organization),
        "form": form,
        "can_manage": actor.can(Capability.ESCALATION_MANAGE),
    }
    return render(request, "notifications/policy_list.html", context)


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


@member_required
def policy_detail(request, pk):
    actor = request.actor
    actor.require(Capability.TEAM_VIEW)
    policy = _policy(request, pk)
    if request.method != "POST":
        return _detail(request, policy)
    actor.require(Capability.ESCALATION_MANAGE)
    form = PolicyForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            services.policy_update(actor=actor, policy=policy, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Policy saved.")
            return redirect("notifications:policy_detail", pk=policy.pk)
    return _detail(request, policy, form=form, status=400)


@require_POST
@member_required
def step_add(request, pk):
    request.actor.require(Capability.ESCALATION_MANAGE)
    policy = _policy(request, pk)
    form = StepForm(request.POST, organization=request.organization)
    if form.is_valid():
        spec = services.StepSpec(
            delay_minutes=form.cleaned_data["delay_minutes"],
            round_robin=form.cleaned_data["round_robin"],
            targets=form.targets(),
        )
        try:
            services.step_append(actor=request.actor, policy=policy, spec=spec)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Step added.")
            return redirect("notifications:policy_detail", pk=policy.pk)
    return _detail(request, policy, step_form=form, status=400)


@require_POST
@member_required
def step_delete(request, pk, step_pk):
    request.actor.require(Capability.ESCALATION_MANAGE)
    policy = _policy(request, pk)
    step = get_in_organization_or_404(EscalationStep, request.organization, pk=step_pk, policy=policy)
    services.step_remove(actor=request.actor, step=step)
    messages.success(request, "Step removed.")
    return redirect("notifications:policy_detail", pk=policy.pk)


@require_POST
@member_required
def policy_attach(request, pk):
    request.actor.require(Capability.ESCALATION_MANAGE)
    policy = _policy(request, pk)
    form = AttachForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            services.policy_attach(actor=request.actor, policy=policy, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Services and team defaults saved.")
            return redirect("notifications:policy_detail", pk=policy.pk)
    return _detail(request, policy, attach_form=form, status=400)


@require_POST
@member_required
def policy_delete(request, pk):
    request.actor.require(Capability.ESCALATION_MANAGE)
    policy = _policy(request, pk)
    try:
        services.policy_delete(actor=request.actor, policy=policy)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("notifications:policy_detail", pk=policy.pk)
    messages.success(request, f"Policy “{policy.name}” deleted.")
    return redirect("notifications:policy_list")
