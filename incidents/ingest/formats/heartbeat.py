"""Heartbeat integrations: "I am alive" pings. A ping resolves the missed-heartbeat alert; the beat tick
(``incidents.ingest.tasks``) raises it when no ping arrived within the period plus grace."""

from __future__ import annotations

from datetime import timedelta

from incidents.ingest.alert_event import AlertEvent, EventAction


def dedup_key(integration) -> str:
    return f"heartbeat:{integration.pk}"


def ping_event(integration, *, now) -> AlertEvent:
    return AlertEvent(action=EventAction.RESOLVE, dedup_key=dedup_key(integration), occurred_at=now)


def missed_event(integration, *, now) -> AlertEvent:
    period = timedelta(seconds=integration.heartbeat_period_seconds or 0)
    last = integration.last_ping_at
    since = f"since {last:%Y-%m-%d %H:%M:%S} UTC" if last else "ever"
    return AlertEvent(
        action=EventAction.TRIGGER,
        dedup_key=dedup_key(integration),
        title=f"Heartbeat missed: {integration.name}",
        description=(
            f"No ping {since}. Expected one every {period} "
            f"(grace {timedelta(seconds=integration.heartbeat_grace_seconds)})."
        ),
        source="heartbeat",
        labels={"integration": integration.name, "kind": "heartbeat"},
        occurred_at=now,
    )


def next_check(integration, *, now):
    return now + timedelta(
        seconds=(integration.heartbeat_period_seconds or 0) + (integration.heartbeat_grace_seconds or 0)
    )
