"""Pages for integrations (counters, raw payloads, suppressed alerts, routing rules, the webhook mapping
test console) and maintenance windows. Every write goes through ``incidents.ingest.services``.

A new or rotated key is shown once, in the answer to the POST that made it (never stored in clear,
never put in a redirect or a session), with caching forbidden.
"""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from incidents.forms.integrations import (
    IntegrationForm,
    MaintenanceWindowForm,
    MappingTestForm,
    RoutingRuleForm,
)
from incidents.ingest import services
from incidents.ingest.formats import webhook
from incidents.ingest.integration_summary import ingestion_url, integration_counters
from incidents.ingest.maintenance import is_active, next_occurrence
from incidents.ingest.services import ROUTING_RULE_FIELDS
from incidents.models import (
    OPEN_STATUSES,
    Alert,
    Integration,
    IntegrationKind,
    MaintenanceWindow,
    RawPayload,
    RoutingRule,
)
from opsplatform.core.access import get_for_write_or_404, member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import act, submit
from opsplatform.core.ids import parse_id

RECENT = 20


def _no_store(response):
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store"
    return response


# --- integrations -------------------------------------------------------------------------------


@requires(Capability.INTEGRATION_VIEW)
def integration_list(request):
    integrations = list(
        Integration.objects.for_organization(request.organization).select_related("service").order_by("name")
    )
    rows = [(integration, integration_counters(integration)) for integration in integrations]
    return render(
        request,
        "incidents/integrations/list.html",
        {"rows": rows, "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE)},
    )


def _integration(request, pk, capability: str) -> Integration:
    return get_for_write_or_404(request, Integration.objects.select_related("service"), capability, pk=pk)


def _detail_context(request, integration, **extra) -> dict:
    rules = list(
        RoutingRule.objects.filter(integration=integration)
        .select_related("route_service", "route_team")
        .order_by("position", "pk")
    )
    return {
        "integration": integration,
        "counters": integration_counters(integration),
        "url": ingestion_url(integration.kind),
        "rules": rules,
        "payloads": RawPayload.objects.filter(integration=integration).order_by("-received_at")[:RECENT],
        "suppressed": Alert.objects.filter(integration=integration, suppressed=True)
        .select_related("suppressed_window")
        .order_by("-last_seen_at")[:RECENT],
        "open_incidents": integration.incidents.filter(status__in=list(OPEN_STATUSES)).order_by(
            "-created_at"
        )[:RECENT],
        "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE),
        "rule_form": RoutingRuleForm(organization=request.organization),
        "test_form": MappingTestForm(
            initial={"mapping": _pretty(integration.webhook_mapping or webhook.DEFAULT_MAPPING)}
        ),
        "kinds": IntegrationKind,
        **extra,
    }


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@requires(Capability.INTEGRATION_VIEW)
def integration_detail(request, pk):
    integration = _integration(request, pk, Capability.INTEGRATION_VIEW)
    return render(request, "incidents/integrations/detail.html", _detail_context(request, integration))


def _issued(request, issued, verb: str):
    context = _detail_context(
        request,
        issued.integration,
        issued_key=issued.key,
        issued_url=ingestion_url(issued.integration.kind, issued.key),
        issued_verb=verb,
    )
    return _no_store(render(request, "incidents/integrations/detail.html", context))


@requires(Capability.INTEGRATION_MANAGE)
def integration_new(request):
    form = IntegrationForm(request.POST or None, organization=request.organization)
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.integration_create(actor=request.actor, **form.service_values()),
            success="",
            redirect_to=None,  # the answer shows the new key once
        )
        if done.ok:
            return _issued(request, done.result, "created")
    return render(request, "incidents/integrations/form.html", {"form": form, "integration": None})


@member_required
def integration_edit(request, pk):
    integration = _integration(request, pk, Capability.INTEGRATION_MANAGE)
    form = IntegrationForm(
        request.POST or None,
        organization=request.organization,
        integration=integration,
        initial=IntegrationForm.initial_for(integration),
    )
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.integration_update(
                actor=request.actor, integration=integration, **form.service_values()
            ),
            success="Integration saved.",
            redirect_to=("incidents:integration_detail", integration.pk),
        )
        if done.ok:
            return done.response
    return render(request, "incidents/integrations/form.html", {"form": form, "integration": integration})


@require_POST
@member_required
def integration_rotate(request, pk):
    integration = _integration(request, pk, Capability.INTEGRATION_MANAGE)
    raw = request.POST.get("overlap_hours", "")
    # Not a number: -1, which the service refuses with its own message.
    overlap = (-1 if (parsed := parse_id(raw)) is None else parsed) if raw else None
    try:
        issued = services.integration_rotate_key(
            actor=request.actor, integration=integration, overlap_hours=overlap
        )
    except ValidationError as exc:  # not act(): the answer to a rotation renders the new key
        messages.error(request, "; ".join(exc.messages))
        return redirect("incidents:integration_detail", pk=integration.pk)
    return _issued(request, issued, "rotated")


@require_POST
@member_required
def integration_delete(request, pk):
    integration = _integration(request, pk, Capability.INTEGRATION_MANAGE)
    return act(
        request,
        lambda: services.integration_delete(actor=request.actor, integration=integration),
        success=f"Integration “{integration.name}” deleted; its key no longer works.",
        redirect_to="incidents:integrations",
        refused_to=("incidents:integration_detail", integration.pk),
    )


@require_POST
@requires(Capability.INTEGRATION_VIEW)
def integration_test_mapping(request, pk):
    """The webhook mapping console: how a pasted payload maps, without storing anything (HTMX)."""
    integration = _integration(request, pk, Capability.INTEGRATION_VIEW)
    form = MappingTestForm(request.POST)
    events, errors = [], []
    if form.is_valid():
        mapping = form.cleaned_data["mapping"] or integration.webhook_mapping or webhook.DEFAULT_MAPPING
        result = webhook.preview(form.cleaned_data["payload"], mapping)
        events = result["events"]
        errors = [f"{e['field']}: {e['message']}" for e in result["errors"]]
    else:
        errors = [f"{field}: {message}" for field, msgs in form.errors.items() for message in msgs]
    context = {"events": events, "errors": errors, "integration": integration}
    template = "incidents/integrations/_mapping_result.html"
    if not request.htmx:
        context = _detail_context(request, integration, test_result=context, test_form=form)
        template = "incidents/integrations/detail.html"
    return render(request, template, context)


# --- routing rules ------------------------------------------------------------------------------


def _rule(request, pk) -> RoutingRule:
    return get_for_write_or_404(
        request, RoutingRule.objects.select_related("integration"), Capability.INTEGRATION_MANAGE, pk=pk
    )


def _rule_values(data: dict) -> dict:
    """The form's values for the service (the position is kept: rules move with their own buttons)."""
    return {field: data[field] for field in ROUTING_RULE_FIELDS if field != "position"}


@member_required
def rule_new(request, pk):
    integration = _integration(request, pk, Capability.INTEGRATION_MANAGE)
    form = RoutingRuleForm(request.POST or None, organization=request.organization)
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.routing_rule_create(
                actor=request.actor, integration=integration, **_rule_values(data)
            ),
            success="",
            redirect_to=f"{integration_url(integration)}#rules",
        )
        if done.ok:
            return done.response
    return render(
        request,
        "incidents/integrations/rule_form.html",
        {"form": form, "integration": integration, "rule": None},
    )


def integration_url(integration) -> str:
    return reverse("incidents:integration_detail", args=[integration.pk])


@member_required
def rule_edit(request, pk):
    rule = _rule(request, pk)
    form = RoutingRuleForm(
        request.POST or None, organization=request.organization, initial=RoutingRuleForm.initial_for(rule)
    )
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.routing_rule_update(actor=request.actor, rule=rule, **_rule_values(data)),
            success="",
            redirect_to=f"{integration_url(rule.integration)}#rules",
        )
        if done.ok:
            return done.response
    return render(
        request,
        "incidents/integrations/rule_form.html",
        {"form": form, "integration": rule.integration, "rule": rule},
    )


@require_POST
@member_required
def rule_delete(request, pk):
    rule = _rule(request, pk)
    return act(
        request,
        lambda: services.routing_rule_delete(actor=request.actor, rule=rule),
        success="",
        redirect_to=f"{integration_url(rule.integration)}#rules",
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
    return redirect(f"{integration_url(rule.integration)}#rules")


# --- maintenance windows ------------------------------------------------------------------------


def _window_rows(windows, now):
    return [(window, is_active(window, now), next_occurrence(window, now)) for window in windows]


@requires(Capability.INTEGRATION_VIEW, post=Capability.INTEGRATION_MANAGE)
def maintenance_list(request):
    can_manage = request.actor.can(Capability.INTEGRATION_MANAGE)
    form = MaintenanceWindowForm(request.POST or None, organization=request.organization)
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.maintenance_window_create(actor=request.actor, **form.service_values()),
            success="",
            redirect_to=lambda window: ("incidents:maintenance_detail", window.pk),
        )
        if done.ok:
            return done.response
    windows = MaintenanceWindow.objects.for_organization(request.organization).select_related("service")
    now = timezone.now()
    return render(
        request,
        "incidents/integrations/maintenance_list.html",
        {
            "rows": _window_rows(windows, now),
            "form": form,
            "can_manage": can_manage,
            "suppressed": Alert.objects.for_organization(request.organization)
            .filter(suppressed=True)
            .select_related("suppressed_window", "integration")
            .order_by("-last_seen_at")[:50],
        },
    )


def _window(request, pk, capability: str) -> MaintenanceWindow:
    return get_for_write_or_404(
        request, MaintenanceWindow.objects.select_related("service"), capability, pk=pk
    )


@requires(Capability.INTEGRATION_VIEW, post=Capability.INTEGRATION_MANAGE)
def maintenance_detail(request, pk):
    window = _window(request, pk, Capability.INTEGRATION_VIEW)
    form = MaintenanceWindowForm(
        request.POST or None,
        organization=request.organization,
        initial=MaintenanceWindowForm.initial_for(window),
    )
    if request.method == "POST":
        done = submit(
            request,
            form,
            lambda data: services.maintenance_window_update(
                actor=request.actor, window=window, **form.service_values()
            ),
            success="Maintenance window saved.",
            redirect_to=("incidents:maintenance_detail", window.pk),
        )
        if done.ok:
            return done.response
    now = timezone.now()
    return render(
        request,
        "incidents/integrations/maintenance_detail.html",
        {
            "window": window,
            "active": is_active(window, now),
            "next": next_occurrence(window, now),
            "form": form,
            "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE),
            "suppressed": Alert.objects.filter(suppressed_window=window)
            .select_related("integration")
            .order_by("-last_seen_at")[:100],
        },
    )


@require_POST
@member_required
def maintenance_delete(request, pk):
    window = _window(request, pk, Capability.INTEGRATION_MANAGE)
    return act(
        request,
        lambda: services.maintenance_window_delete(actor=request.actor, window=window),
        success=f"Maintenance window “{window.name}” deleted.",
        redirect_to="incidents:maintenance",
        refused_to=("incidents:maintenance_detail", window.pk),
    )
