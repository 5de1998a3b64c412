"""Prometheus Alertmanager webhook, version 4.

The notification carries one group: ``groupKey`` names it, ``alerts[]`` are its alerts (firing and
resolved), ``truncatedAlerts`` counts alerts left out by the sender's ``max_alerts``. Alertmanager
re-sends the whole group every ``group_interval`` while anything changes and every
``repeat_interval`` otherwise, so the same alert arrives many times: its ``fingerprint`` is the dedup
key and its ``startsAt`` identifies the firing episode (a re-send of the same episode changes nothing).
"""

from __future__ import annotations

from incidents.ingest.alert_event import MAX_DESCRIPTION, MAX_TITLE, AlertEvent, EventAction, severity_from
from incidents.ingest.formats.common import (
    Checker,
    clean_labels,
    labels_fingerprint,
    link,
    links,
    truncate,
)

SUPPORTED_VERSIONS = {"4"}
ALERT_STATUSES = {"firing": EventAction.TRIGGER, "resolved": EventAction.RESOLVE}
MAX_ALERTS = 5000


def check_group(check: Checker, data, *, versions=SUPPORTED_VERSIONS) -> list:
    """The fields Alertmanager and Grafana share; returns the alerts list (possibly empty)."""
    if not isinstance(data, dict):
        check.error("non_field_errors", "Expected a JSON object.", "type")
        check.raise_if_any()
    version = data.get("version")
    if version is not None and versions and str(version) not in versions:
        check.error("version", f"Unsupported webhook version {version!r}; expected 4.", "invalid")
    check.string(data, "groupKey", "groupKey", max_length=10_000)
    check.string(data, "status", "status")
    check.string(data, "receiver", "receiver")
    check.string(data, "externalURL", "externalURL")
    check.integer(data, "truncatedAlerts", "truncatedAlerts", minimum=0)
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        check.string_map(data, key, key)
    alerts = check.array(data, "alerts", "alerts", required=True) or []
    if len(alerts) > MAX_ALERTS:
        check.error("alerts", f"At most {MAX_ALERTS} alerts per notification.", "max_length")
        alerts = []
    for index, alert in enumerate(alerts):
        path = f"alerts.{index}"
        if not isinstance(alert, dict):
            check.error(path, "Expected a JSON object.", "type")
            continue
        status = check.string(alert, "status", f"{path}.status", required=True)
        if status is not None and status not in ALERT_STATUSES:
            check.error(f"{path}.status", 'Expected "firing" or "resolved".', "invalid_choice")
        check.string_map(alert, "labels", f"{path}.labels", required=True)
        check.string_map(alert, "annotations", f"{path}.annotations")
        check.timestamp(alert, "startsAt", f"{path}.startsAt")
        check.timestamp(alert, "endsAt", f"{path}.endsAt")
        check.string(alert, "generatorURL", f"{path}.generatorURL")
        check.string(alert, "fingerprint", f"{path}.fingerprint", max_length=200)
    return alerts


def alert_event(alert: dict, *, group: dict, source_default: str, extra_links=()) -> AlertEvent:
    check = Checker()  # already validated: these reads cannot fail
    labels = clean_labels(alert.get("labels"))
    annotations = alert.get("annotations") or {}
    action = ALERT_STATUSES[alert["status"]]
    fingerprint = (alert.get("fingerprint") or "").strip() or labels_fingerprint(labels)
    starts_at = check.timestamp(alert, "startsAt", "")
    ends_at = check.timestamp(alert, "endsAt", "")
    name = labels.get("alertname", "")
    title = annotations.get("summary") or annotations.get("title") or name or "Alert"
    if not annotations.get("summary") and labels.get("instance") and name:
        title = f"{name} on {labels['instance']}"
    description = annotations.get("description") or annotations.get("message") or ""
    external = group.get("externalURL") or ""
    return AlertEvent(
        action=action,
        dedup_key=fingerprint,
        fingerprint=fingerprint,
        # The raw startsAt string: Alertmanager repeats it verbatim for the same firing episode.
        occurrence_key=(alert.get("startsAt") or "")[:64],
        group_key=group.get("groupKey") or "",
        title=truncate(title, MAX_TITLE),
        description=truncate(description, MAX_DESCRIPTION),
        severity=severity_from(labels.get("severity") or labels.get("priority")),
        source=labels.get("instance") or labels.get("job") or source_default,
        labels=labels,
        links=links(
            link(alert.get("generatorURL"), "Source"),
            link(annotations.get("runbook_url") or annotations.get("runbook"), "Runbook"),
            *extra_links,
            link(external, "Alertmanager") if source_default == "alertmanager" else None,
        ),
        occurred_at=ends_at if action == EventAction.RESOLVE and ends_at else starts_at,
    )


def parse(data, *, integration=None) -> list[AlertEvent]:
    check = Checker()
    alerts = check_group(check, data)
    check.raise_if_any()
    return [alert_event(alert, group=data, source_default="alertmanager") for alert in alerts]


def truncated_alerts(data) -> int:
    value = data.get("truncatedAlerts") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
