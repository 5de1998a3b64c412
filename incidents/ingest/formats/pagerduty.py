"""PagerDuty Events API v2 (``POST /v2/enqueue``), so an existing PagerDuty client only needs its base URL
changed. Requests and answers follow PagerDuty's shapes:

* accepted: ``202 {"status": "success", "message": "Event processed", "dedup_key": "…"}``;
* invalid: ``400 {"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``.

Semantics as PagerDuty documents them: a trigger without ``dedup_key`` gets a generated one (returned);
acknowledge and resolve for a dedup key with no open alert are accepted and dropped; a trigger after
the alert was resolved opens a new incident.
"""

from __future__ import annotations

import json
import uuid

from incidents.ingest.alert_event import (
    MAX_DEDUP_KEY,
    MAX_DESCRIPTION,
    AlertEvent,
    EventAction,
    PayloadError,
    severity_from,
)
from incidents.ingest.formats.common import Checker, clean_labels, link, links, truncate

SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
MAX_CONTEXTS = 50


def error_body(errors: list[str]) -> dict:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}


def accepted_body(dedup_key: str) -> dict:
    return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def pd_messages(exc: PayloadError) -> list[str]:
    """Our field errors in PagerDuty's wording style: ``'payload.summary' is missing or blank``."""
    messages = []
    for error in exc.errors:
        name = error["field"]
        if error["code"] in ("required", "blank"):
            messages.append(f"'{name}' is missing or blank")
        elif error["code"] == "max_length":
            messages.append(f"Length of '{name}' is incorrect ({error['message'].lower().rstrip('.')})")
        elif name == "non_field_errors":
            messages.append(error["message"])
        else:
            messages.append(f"'{name}' is invalid: {error['message']}")
    return messages


def routing_key(data) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("routing_key"), str):
        return data["routing_key"]
    return None


def validate(data) -> None:
    check = Checker()
    if not isinstance(data, dict):
        check.error("non_field_errors", "Event object is not a JSON object.", "type")
        check.raise_if_any()
    check.string(data, "routing_key", "routing_key", required=True, blank=False)
    action = check.string(data, "event_action", "event_action", required=True, blank=False)
    if action is not None and action not in EventAction.values:
        check.error("event_action", "Expected trigger, acknowledge or resolve.", "invalid_choice")
    dedup_key = check.string(data, "dedup_key", "dedup_key", max_length=MAX_DEDUP_KEY)
    if action in (EventAction.ACKNOWLEDGE, EventAction.RESOLVE) and not (dedup_key or "").strip():
        check.error("dedup_key", "Required to acknowledge or resolve.", "required")
    check.string(data, "client", "client", max_length=1024)
    check.string(data, "client_url", "client_url", max_length=2000)
    payload = check.obj(data, "payload", "payload", required=action == EventAction.TRIGGER)
    if action == EventAction.TRIGGER and payload is not None:
        check.string(
            payload, "summary", "payload.summary", required=True, blank=False, max_length=MAX_SUMMARY
        )
        check.string(payload, "source", "payload.source", required=True, blank=False, max_length=1024)
        severity = check.string(payload, "severity", "payload.severity", required=True, blank=False)
        if severity is not None and severity.strip() and severity not in SEVERITIES:
            check.error("payload.severity", "Expected critical, error, warning or info.", "invalid_choice")
        check.timestamp(payload, "timestamp", "payload.timestamp")
        for key in ("component", "group", "class"):
            check.string(payload, key, f"payload.{key}", max_length=1024)
    for key, required in (("images", "src"), ("links", "href")):
        items = check.array(data, key, key)
        for index, item in enumerate((items or [])[:MAX_CONTEXTS]):
            if not isinstance(item, dict):
                check.error(f"{key}.{index}", "Expected a JSON object.", "type")
            else:
                check.string(item, required, f"{key}.{index}.{required}", required=True, blank=False)
    check.raise_if_any()


def parse(data, *, integration=None) -> list[AlertEvent]:
    validate(data)
    action = data["event_action"]
    dedup_key = (data.get("dedup_key") or "").strip() or uuid.uuid4().hex
    if action != EventAction.TRIGGER:
        return [AlertEvent(action=action, dedup_key=dedup_key)]
    payload = data["payload"]
    check = Checker()
    occurred_at = check.timestamp(payload, "timestamp", "")
    details = payload.get("custom_details")
    description = ""
    if details not in (None, "", {}):
        description = (
            details if isinstance(details, str) else json.dumps(details, indent=2, ensure_ascii=False)
        )
    labels = clean_labels(
        {key: payload[key] for key in ("component", "group", "class") if isinstance(payload.get(key), str)},
        {"client": data["client"]} if isinstance(data.get("client"), str) else None,
    )
    context_links = [
        link(item.get("href"), str(item.get("text") or item.get("href"))[:200])
        for item in (data.get("links") or [])[:MAX_CONTEXTS]
    ]
    images = [
        link(item.get("href") or item.get("src"), str(item.get("alt") or "Image")[:200])
        for item in (data.get("images") or [])[:MAX_CONTEXTS]
    ]
    return [
        AlertEvent(
            action=action,
            dedup_key=dedup_key,
            title=payload["summary"].strip(),
            description=truncate(description, MAX_DESCRIPTION),
            severity=severity_from(payload["severity"]),
            source=payload["source"].strip()[:255],
            labels=labels,
            links=links(
                link(data.get("client_url"), data.get("client") or "Client"), *context_links, *images
            ),
            occurred_at=occurred_at,
        )
    ]
