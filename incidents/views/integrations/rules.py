"""Routing rules of an integration: create, edit, delete, move up and down (the Routing rules tab
lists them)."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents.forms.integrations import RoutingRuleForm
from incidents.ingest import services
from incidents.ingest.services import ROUTING_RULE_FIELDS
from incidents.models import RoutingRule
from incidents.views.integrations.common import integration_for
from opsplatform.core.access import get_for_write_or_404, member_required
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit


def _rule(request, pk) -> RoutingRule:
    return get_for_write_or_404(
        request, RoutingRule.objects.select_related("integration"), Capability.INTEGRATION_MANAGE, pk=pk
    )


def _rule_values(data: dict) -> dict:
    """The form's values for the service (the position is kept: rules move with their own buttons)."""
    return {field: data[field] for field in ROUTING_RULE_FIELDS if field != "position"}


def rules_url(integration) -> str:
    return reverse("incidents:integration_rules", args=[integration.pk])


def _form_page(request, form, integration, rule, status):
    return render(
        request,
        "incidents/integrations/rule_form.html",
        {"form": form, "integration": integration, "rule": rule},
        status=status,
    )


@member_required
def rule_new(request, pk):
    integration = integration_for(request, pk, Capability.INTEGRATION_MANAGE)
    form = RoutingRuleForm(request.POST or None, organization=request.organization)
    if request.method != "POST":
        return _form_page(request, form, integration, None, 200)
    done = submit(
        request,
        form,
        lambda data: services.routing_rule_create(
            actor=request.actor, integration=integration, **_rule_values(data)
        ),
        success="Routing rule added.",
        redirect_to=rules_url(integration),
    )
    return done.response if done.ok else _form_page(request, form, integration, None, done.status)


@member_required
def rule_edit(request, pk):
    rule = _rule(request, pk)
    form = RoutingRuleForm(
        request.POST or None, organization=request.organization, initial=RoutingRuleForm.initial_for(rule)
    )
    if request.method != "POST":
        return _form_page(request, form, rule.integration, rule, 200)
    done = submit(
        request,
        form,
        lambda data: services.routing_rule_update(actor=request.actor, rule=rule, **_rule_values(data)),
        success="Routing rule saved.",
        redirect_to=rules_url(rule.integration),
    )
    return done.response if done.ok else _form_page(request, form, rule.integration, rule, done.status)


@require_POST
@member_required
def rule_delete(request, pk):
    rule = _rule(request, pk)
    return act(
        request,
        lambda: services.routing_rule_delete(actor=request.actor, rule=rule),
        success=f"Routing rule “{rule.name}” deleted.",
        redirect_to=rules_url(rule.integration),
    )


@require_POST
@member_required
def rule_move(request, pk, direction):
    if direction not in ("up", "down"):
        raise Http404("Unknown direction.")
    rule = _rule(request, pk)
    order = list(
        RoutingRule.objects.filter(integration=rule.integration)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    index = order.index(rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        services.routing_rules_reorder(actor=request.actor, integration=rule.integration, rule_ids=order)
    return redirect(rules_url(rule.integration))
