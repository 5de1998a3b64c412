"""Generic JSON webhook: any JSON document, mapped to alert fields by the integration's mapping.

A mapping value is one of:

* a JSON pointer (RFC 6901): ``"/alert/name"``, ``"/tags/0"``;
* a small template with pointers in double braces: ``"{{ /check }} failed on {{ /host }}"``;
* anything else is a literal: ``"sev2"``.

Fields: ``title`` (required), ``dedup_key``, ``group_key``, ``severity`` (+ ``severity_map`` from the
sender's values to ours), ``status`` (+ ``resolved_values`` / ``acknowledged_values``),
``description``, ``source``, ``labels`` (a pointer to an object, or ``{"label": "<value spec>"}``), and
``items``: a pointer to an array when one request carries several alerts (every other pointer is then
relative to each item). Without a ``dedup_key`` the title is the dedup key, so repeats of the same
alert join one incident.
"""

from __future__ import annotations

import json
import re

from incidents.ingest.alert_event import (
    MAX_DEDUP_KEY,
    MAX_DESCRIPTION,
    MAX_TITLE,
    AlertEvent,
    EventAction,
    PayloadError,
    severity_from,
)
from incidents.ingest.formats.common import Checker, clean_labels, digest, truncate
from incidents.models import Severity

DEFAULT_MAPPING = {
    "title": "/title",
    "dedup_key": "/dedup_key",
    "group_key": "/group_key",
    "severity": "/severity",
    "status": "/status",
    "description": "/description",
    "source": "/source",
    "labels": "/labels",
}
TEXT_FIELDS = ("items", "title", "dedup_key", "group_key", "severity", "status", "description", "source")
LIST_FIELDS = ("resolved_values", "acknowledged_values")
ALL_FIELDS = (*TEXT_FIELDS, *LIST_FIELDS, "severity_map", "labels")
DEFAULT_RESOLVED = ("resolved", "resolve", "ok", "closed", "recovered", "inactive", "normal", "up")
DEFAULT_ACKNOWLEDGED = ("acknowledged", "acknowledge", "ack")
MAX_ITEMS = 1000
MAX_SPEC = 1000
_TEMPLATE = re.compile(r"\{\{\s*(/[^{}]*?)\s*\}\}")
_MISSING = object()


def resolve_pointer(document, pointer: str):
    """The value at ``pointer`` in ``document``, or ``_MISSING``."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return _MISSING
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            if token not in node:
                return _MISSING
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or (len(token) > 1 and token.startswith("0")) or int(token) >= len(node):
                return _MISSING
            node = node[int(token)]
        else:
            return _MISSING
    return node


def _as_text(value) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def render(spec: str, document) -> str:
    """A mapping value evaluated against ``document``: "" when its pointer (or every pointer of its
    template) finds nothing, so a required field cannot be satisfied by a template's literal text."""
    if spec.startswith("/"):
        return _as_text(resolve_pointer(document, spec))
    if "{{" in spec:
        found = []

        def substitute(match):
            value = resolve_pointer(document, match.group(1))
            found.append(value is not _MISSING and value is not None)
            return _as_text(value)

        text = _TEMPLATE.sub(substitute, spec)
        return text if any(found) else ""
    return spec


def validate_mapping(mapping) -> dict[str, str]:
    """Field errors of a mapping (empty when it is usable)."""
    if not isinstance(mapping, dict):
        return {"webhook_mapping": "The mapping is a JSON object."}
    errors = {}
    for key in set(mapping) - set(ALL_FIELDS):
        errors[f"webhook_mapping.{key}"] = f"Unknown field; use {', '.join(ALL_FIELDS)}."
    for key in TEXT_FIELDS:
        value = mapping.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_SPEC):
            errors[f"webhook_mapping.{key}"] = (
                f"A pointer, template or literal of at most {MAX_SPEC} characters."
            )
    if "items" in mapping and not str(mapping["items"]).startswith("/"):
        errors["webhook_mapping.items"] = "A JSON pointer to an array, e.g. /alerts."
    for key in LIST_FIELDS:
        value = mapping.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            errors[f"webhook_mapping.{key}"] = "A list of strings."
    severity_map = mapping.get("severity_map")
    if severity_map is not None and not (
        isinstance(severity_map, dict)
        and all(isinstance(v, str) and severity_from(v) for v in severity_map.values())
    ):
        errors["webhook_mapping.severity_map"] = (
            f"An object from the sender's values to one of {', '.join(Severity.values)}."
        )
    labels = mapping.get("labels")
    if labels is not None and not (
        (isinstance(labels, str) and labels.startswith("/"))
        or (isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values()))
    ):
        errors["webhook_mapping.labels"] = 'A pointer to an object, or {"label": "<pointer or template>"}.'
    return errors


def _labels(spec, item) -> dict[str, str]:
    if isinstance(spec, str):
        value = resolve_pointer(item, spec)
        if isinstance(value, dict):
            return clean_labels({k: _as_text(v) for k, v in value.items()})
        return {}
    if isinstance(spec, dict):
        return clean_labels({name: render(value, item) for name, value in spec.items()})
    return {}


def _event(mapping: dict, item, path: str, check: Checker) -> AlertEvent | None:
    title = render(mapping.get("title", ""), item).strip()
    if not title:
        check.error(
            f"{path}title", f"The mapping's title ({mapping.get('title')}) found nothing.", "required"
        )
        return None
    status = render(mapping.get("status", ""), item).strip().lower() if mapping.get("status") else ""
    resolved = {v.lower() for v in mapping.get("resolved_values", DEFAULT_RESOLVED)}
    acknowledged = {v.lower() for v in mapping.get("acknowledged_values", DEFAULT_ACKNOWLEDGED)}
    action = (
        EventAction.RESOLVE
        if status in resolved
        else EventAction.ACKNOWLEDGE
        if status in acknowledged
        else EventAction.TRIGGER
    )
    raw_severity = render(mapping["severity"], item).strip() if mapping.get("severity") else ""
    severity_map = mapping.get("severity_map") or {}
    severity = severity_from(severity_map.get(raw_severity, raw_severity))
    dedup_key = render(mapping["dedup_key"], item).strip() if mapping.get("dedup_key") else ""
    if len(dedup_key) > MAX_DEDUP_KEY:
        dedup_key = "sha256:" + digest(dedup_key, length=64)
    return AlertEvent(
        action=action,
        dedup_key=dedup_key or "title:" + digest(title),
        group_key=render(mapping["group_key"], item).strip()[:1024] if mapping.get("group_key") else "",
        title=truncate(title, MAX_TITLE),
        description=truncate(render(mapping.get("description", ""), item), MAX_DESCRIPTION),
        severity=severity,
        source=render(mapping.get("source", ""), item).strip()[:255] or "webhook",
        labels=_labels(mapping.get("labels"), item),
    )


def parse(data, *, integration=None, mapping: dict | None = None) -> list[AlertEvent]:
    if mapping is None:
        mapping = (integration.webhook_mapping if integration is not None else None) or DEFAULT_MAPPING
    problems = validate_mapping(mapping)
    if problems:
        raise PayloadError([{"field": f, "message": m, "code": "mapping"} for f, m in problems.items()])
    check = Checker()
    if mapping.get("items"):
        items = resolve_pointer(data, mapping["items"])
        if not isinstance(items, list):
            check.error("items", f"The mapping's items ({mapping['items']}) is not an array here.", "type")
            check.raise_if_any()
        if len(items) > MAX_ITEMS:
            check.error("items", f"At most {MAX_ITEMS} alerts per request.", "max_length")
            check.raise_if_any()
        pairs = [(item, f"items.{index}.") for index, item in enumerate(items)]
    else:
        if not isinstance(data, dict | list):
            check.error("non_field_errors", "Expected a JSON object.", "type")
            check.raise_if_any()
        pairs = [(data, "")]
    events = [_event(mapping, item, path, check) for item, path in pairs]
    check.raise_if_any()
    return [event for event in events if event is not None]


def preview(payload, mapping) -> dict:
    """How a sample payload maps, stored nowhere: the test console of the page and the API."""
    try:
        events = parse(payload, mapping=mapping)
    except PayloadError as exc:
        return {"events": [], "errors": exc.errors}
    return {"events": [event.as_preview() for event in events], "errors": []}
