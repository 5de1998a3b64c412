"""The integration list: kind, service, last event, events in the last 24 h and health, filtered by
kind and service in the URL (``/integrations/?service=3`` is what a service page links to)."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from incidents.eventlogs import RAW_PAYLOADS
from incidents.forms.integrations import IntegrationFilterForm
from incidents.ingest.integration_summary import integration_counters
from incidents.models import Integration, IntegrationKind
from incidents.views.integrations.common import PAGE_SIZE
from incidents.views.pagination import lookahead_page
from opsplatform.core.access import requires
from opsplatform.core.capabilities import Capability
from opsplatform.core.timefmt import short_duration

DAY = timedelta(hours=24)


def health(integration: Integration, last_event_at, now) -> tuple[str, str]:
    """(dot class, words) of an integration: is its source talking to us?"""
    if not integration.enabled:
        return "", "Disabled"
    if integration.kind == IntegrationKind.HEARTBEAT:
        return _heartbeat_health(integration)
    if last_event_at is None:
        return "", "No events yet"
    quiet = now - last_event_at
    if quiet <= DAY:
        return "ok", "Receiving"
    return "warn", f"Quiet for {short_duration(int(quiet.total_seconds()))}"


def _heartbeat_health(integration: Integration) -> tuple[str, str]:
    if integration.next_check_at is None:  # cleared once a miss was reported
        return "bad", "Heartbeat missed"
    if integration.last_ping_at is None:
        return "warn", "Waiting for the first ping"
    return "ok", "Pinging on time"


def _events_since(integrations, since) -> dict[int, int]:
    # One grouped count for the page's rows, served by the (integration, received_at) index.
    return RAW_PAYLOADS.count_by(
        "integration_id", {"integration_id__in": [i.pk for i in integrations], "received_at__gte": since}
    )


@requires(Capability.INTEGRATION_VIEW)
def integration_list(request):
    filters = IntegrationFilterForm(request.GET, organization=request.organization)
    queryset = filters.filter(
        Integration.objects.for_organization(request.organization)
        .select_related("service")
        .order_by("name", "pk")
    )
    page = lookahead_page(queryset, request.GET.get("page"), PAGE_SIZE)
    now = timezone.now()
    recent = _events_since(page.object_list, now - DAY)
    rows = []
    for integration in page.object_list:
        counters = integration_counters(integration)
        dot, words = health(integration, counters["last_received_at"], now)
        rows.append(
            {
                "integration": integration,
                "last_event_at": counters["last_received_at"],
                "events_24h": recent.get(integration.pk, 0),
                "dot": dot,
                "health": words,
            }
        )
    return render(
        request,
        "incidents/integrations/list.html",
        {
            "rows": rows,
            "page": page,
            "filters": filters,
            "filtered": filters.active or page.number > 1,
            "can_manage": request.actor.can(Capability.INTEGRATION_MANAGE),
        },
    )
