"""The integration console: Overview (endpoint, copyable example, "Send a test event"), Recent
events (raw payloads, masked and pretty-printed, with what each produced) and Routing rules."""

import contextlib
import json
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents.eventlogs import RAW_PAYLOADS
from incidents.forms.integrations import MappingTestForm, RoutingRuleForm
from incidents.ingest import samples, services
from incidents.ingest.formats import webhook
from incidents.ingest.integration_summary import ingestion_url, integration_counters
from incidents.ingest.masking import MASK
from incidents.models import OPEN_STATUSES, IntegrationKind, RoutingRule
from incidents.views.integrations.common import PAGE_SIZE, integration_for, no_store
from incidents.views.pagination import lookahead_page
from opsplatform.core.access import member_required, requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.forms import first_error

OPEN_INCIDENTS_SHOWN = 5


def masked_key(integration) -> str:
    """The key as pages show it: the stored prefix only (the rest is not kept)."""
    return f"{integration.key_prefix}…{MASK}"


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def console_context(request, integration, tab: str, **extra) -> dict:
    """What every tab of the console shows in its header."""
    return {
        "integration": integration,
        "tab": tab,
        "kinds": IntegrationKind,
        "masked_key": masked_key(integration),
        "counters": integration_counters(integration),
        "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE),
        **extra,
    }


def overview_context(request, integration, *, issued_key: str = "", **extra) -> dict:
    """The Overview tab; ``issued_key`` only in the answer that creates or rotates the key."""
    sent = None
    with contextlib.suppress(ValueError):  # not a payload id: nothing to show
        sent_id = uuid.UUID(request.GET.get("sent", ""))
        sent = RAW_PAYLOADS.get({"integration_id": integration.pk, "id": sent_id})
    open_incidents = integration.incidents.filter(status__in=list(OPEN_STATUSES)).order_by("-created_at")
    return console_context(
        request,
        integration,
        "overview",
        issued_key=issued_key,
        # The ingestion URL with the key in its path, masked; in clear only in the one-time answer.
        url=ingestion_url(integration.kind, issued_key)
        if issued_key
        else ingestion_url(integration.kind).replace("<key>", masked_key(integration)),
        bearer_url=samples.endpoint(integration.kind),
        example=samples.example(integration, key=issued_key),
        sent=sent,
        open_incidents=open_incidents[:OPEN_INCIDENTS_SHOWN],
        test_form=MappingTestForm(
            initial={"mapping": _pretty(integration.webhook_mapping or webhook.DEFAULT_MAPPING)}
        )
        if integration.kind == IntegrationKind.WEBHOOK
        else None,
        **extra,
    )


@requires(Capability.INTEGRATION_VIEW)
def integration_detail(request, pk):
    integration = integration_for(request, pk, Capability.INTEGRATION_VIEW)
    return render(request, "incidents/integrations/detail.html", overview_context(request, integration))


def render_issued(request, issued, verb: str):
    """The one answer that holds the key in clear (creation, rotation): never cached."""
    context = overview_context(request, issued.integration, issued_key=issued.key, issued_verb=verb)
    return no_store(render(request, "incidents/integrations/detail.html", context))


@requires(Capability.INTEGRATION_VIEW)
def integration_events(request, pk):
    integration = integration_for(request, pk, Capability.INTEGRATION_VIEW)
    payloads = RAW_PAYLOADS.listing({"integration_id": integration.pk})
    page = lookahead_page(payloads, request.GET.get("page"), PAGE_SIZE)
    return render(
        request,
        "incidents/integrations/events.html",
        console_context(request, integration, "events", page=page),
    )


@requires(Capability.INTEGRATION_VIEW)
def integration_rules(request, pk):
    integration = integration_for(request, pk, Capability.INTEGRATION_VIEW)
    rules = (
        RoutingRule.objects.filter(integration=integration)
        .select_related("route_service", "route_team")
        .order_by("position", "pk")
    )
    can_manage = request.actor.can(Capability.INTEGRATION_MANAGE)
    return render(
        request,
        "incidents/integrations/rules.html",
        console_context(
            request,
            integration,
            "rules",
            rules=list(rules),
            rule_form=RoutingRuleForm(organization=request.organization) if can_manage else None,
        ),
    )


@require_POST
@member_required
def integration_test_event(request, pk):
    """Inject a test payload of the integration's kind; the Overview then shows what it produced."""
    integration = integration_for(request, pk, Capability.INTEGRATION_MANAGE)
    try:
        sent = services.integration_send_test_event(actor=request.actor, integration=integration)
    except ValidationError as exc:
        messages.error(request, first_error(exc))
        return redirect("incidents:integration_detail", pk=integration.pk)
    url = reverse("incidents:integration_detail", args=[integration.pk])
    return redirect(f"{url}?sent={sent.outcome.payload_id}#test-event")


@require_POST
@requires(Capability.INTEGRATION_VIEW)
def integration_test_mapping(request, pk):
    """The webhook mapping console: how a pasted payload maps, without storing anything (HTMX)."""
    integration = integration_for(request, pk, Capability.INTEGRATION_VIEW)
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
    if request.htmx:
        return render(request, "incidents/integrations/_mapping_result.html", context)
    context = overview_context(request, integration, test_result=context)
    context["test_form"] = form
    return render(request, "incidents/integrations/detail.html", context)
