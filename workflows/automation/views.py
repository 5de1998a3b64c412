"""``/automation/``: rules with their last executions; a rule's page (conditions, actions,
executions, backtest); the rule form; and the executions card an incident page includes."""

from django.core.paginator import Paginator
from django.shortcuts import render

from incidents.models import Incident
from opsplatform.core.access import get_for_read_or_404, get_for_write_or_404, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit
from workflows.automation import services, spec
from workflows.automation.actions import rule_secret
from workflows.automation.condition_forms import ConditionsEditor
from workflows.automation.forms import BacktestForm, RuleForm
from workflows.automation.models import AutomationExecution, AutomationRule

PAGE_SIZE = 25
LAST_PER_RULE = 3


def _paginate(queryset, number):
    return Paginator(queryset, PAGE_SIZE).get_page(number)


def _rules(organization):
    return AutomationRule.objects.filter(organization=organization).order_by("name", "id")


@requires(Capability.WORKFLOW_VIEW)
def rule_list(request):
    rules = list(_rules(request.organization))
    recent = AutomationExecution.objects.filter(rule__in=rules).order_by("rule_id", "-created_at", "-id")
    by_rule = {}
    for execution in recent.select_related("incident")[: len(rules) * 50]:
        by_rule.setdefault(execution.rule_id, [])
        if len(by_rule[execution.rule_id]) < LAST_PER_RULE:
            by_rule[execution.rule_id].append(execution)
    rows = [{"rule": rule, "last": by_rule.get(rule.pk, [])} for rule in rules]
    return render(request, "workflows/automation/index.html", {"rows": rows})


def _action_rows(rule):
    return [{"index": i, "action": a, "text": spec.describe(a)} for i, a in enumerate(rule.actions)]


def _detail_context(request, rule, **extra):
    executions = (
        AutomationExecution.objects.filter(rule=rule)
        .select_related("incident")
        .order_by("-created_at", "-id")
    )
    page = _paginate(executions, request.GET.get("page"))
    context = {
        "rule": rule,
        "actions": _action_rows(rule),
        "page": page,
        "backtest_form": BacktestForm(),
        "secret": rule_secret(rule) if request.actor.can(Capability.AUTOMATION_MANAGE, rule) else "",
    }
    return {**context, **extra}


@requires(Capability.WORKFLOW_VIEW)
def rule_detail(request, pk):
    rule = get_for_read_or_404(request, _rules(request.organization), Capability.WORKFLOW_VIEW, pk=pk)
    context = _detail_context(request, rule)
    if request.htmx and request.GET.get("fragment") == "executions":
        return render(request, "workflows/automation/_executions.html", context)
    return render(request, "workflows/automation/rule.html", context)


@requires(Capability.WORKFLOW_VIEW)
def rule_backtest(request, pk):
    """A read (no side effects), so a POST is open to whoever may read the rule."""
    rule = get_for_read_or_404(request, _rules(request.organization), Capability.WORKFLOW_VIEW, pk=pk)
    form = BacktestForm(request.POST or None)
    result, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            result = services.backtest(actor=request.actor, rule=rule, days=form.cleaned_data["days"])
        else:
            status = 400
    context = {"rule": rule, "backtest_form": form, "result": result}
    template = "workflows/automation/_backtest.html" if request.htmx else "workflows/automation/backtest.html"
    return render(request, template, context, status=status)


@requires(Capability.AUTOMATION_MANAGE, post=Capability.AUTOMATION_MANAGE)
def rule_new(request):
    form = RuleForm(request.POST or None, initial={"enabled": True})
    conditions = ConditionsEditor(request.POST or None)
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.rule_create(
                actor=request.actor, **form.values(), conditions=conditions.value()
            )[0],
            success="Rule created. Its webhook signing secret is on its page.",
            redirect_to=lambda rule: ("automation:rule", rule.pk),
            also=(conditions,),
        )
        if done.response:
            return done.response
        status = done.status
    context = {"form": form, "conditions": conditions, "rule": None}
    return render(request, "workflows/automation/form.html", context, status=status)


@requires(Capability.AUTOMATION_MANAGE, post=Capability.AUTOMATION_MANAGE)
def rule_edit(request, pk):
    rule = get_for_write_or_404(request, _rules(request.organization), Capability.AUTOMATION_MANAGE, pk=pk)
    form = RuleForm.for_rule(rule, request.POST or None)
    conditions = ConditionsEditor(request.POST or None, conditions=rule.conditions)
    status = 200
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.rule_update(
                actor=request.actor, rule=rule, **form.values(), conditions=conditions.value()
            ),
            success="Rule saved.",
            redirect_to=lambda saved: ("automation:rule", saved.pk),
            also=(conditions,),
        )
        if done.response:
            return done.response
        status = done.status
    context = {"form": form, "conditions": conditions, "rule": rule}
    return render(request, "workflows/automation/form.html", context, status=status)


@requires(Capability.AUTOMATION_MANAGE, post=Capability.AUTOMATION_MANAGE)
def rule_delete(request, pk):
    rule = get_for_write_or_404(request, _rules(request.organization), Capability.AUTOMATION_MANAGE, pk=pk)
    if request.method != "POST":
        return render(request, "workflows/automation/rule.html", _detail_context(request, rule), status=405)
    return act(
        request,
        lambda: services.rule_delete(actor=request.actor, rule=rule),
        success="Rule deleted.",
        redirect_to="automation:index",
    )


@requires(Capability.INCIDENT_VIEW)
def incident_executions(request, pk):
    """The automation card of an incident page (an htmx partial)."""
    incident = get_for_read_or_404(request, Incident.objects.all(), Capability.INCIDENT_VIEW, pk=pk)
    executions = (
        AutomationExecution.objects.filter(organization=request.organization, incident=incident)
        .select_related("rule")
        .order_by("-created_at", "-id")
    )
    page = _paginate(executions, request.GET.get("page"))
    return render(
        request, "workflows/automation/_incident_executions.html", {"incident": incident, "page": page}
    )
