"""Runbook selectors and matching an incident to its runbooks.

``runbook_for = {"services": [ids], "severities": ["sev1", …], "labels": {name: value or matcher}}``.
A label value is either a string (the label equals it) or a matcher without its field,
``{"op": "equals" | "regex" | "exists", "value": "…", "negate": false}``: the same matcher language and
the same code as routing rules and maintenance windows (``incidents.ingest.matching``).

Score of a match: one point per label matcher, one for a service selector, one for a severity selector,
so the most specific runbook comes first. A runbook with no selector at all matches nothing.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from incidents.ingest.matching import matches, validate_matchers
from incidents.models import Severity

SELECTOR_KEYS = {"services", "severities", "labels"}
STEP = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[(?: |x|X)\]\s+(?P<text>.+?)\s*$")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]{0,99}$")


def label_matchers(labels: dict) -> list[dict]:
    matchers = []
    for name, wanted in labels.items():
        if isinstance(wanted, dict):
            matchers.append({"field": f"labels.{name}", **wanted})
        else:
            matchers.append({"field": f"labels.{name}", "op": "equals", "value": wanted})
    return matchers


def clean_runbook_for(value, *, service_ids_in_org: set[int]) -> dict | None:
    """The normalized selectors, or a ValidationError on ``runbook_for`` saying what is wrong."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError({"runbook_for": "An object with services, severities and labels."})
    unknown = set(value) - SELECTOR_KEYS
    if unknown:
        raise ValidationError({"runbook_for": f"Unknown key {sorted(unknown)[0]!r}."})
    services = value.get("services", [])
    severities = value.get("severities", [])
    labels = value.get("labels", {})
    if not isinstance(services, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in services
    ):
        raise ValidationError({"runbook_for": "services is a list of service ids."})
    missing = sorted(set(services) - service_ids_in_org)
    if missing:
        raise ValidationError({"runbook_for": f"No such service: {missing[0]}."})
    valid_severities = set(Severity.values)
    if not isinstance(severities, list) or not all(s in valid_severities for s in severities):
        raise ValidationError({"runbook_for": f"severities are among {', '.join(Severity.values)}."})
    if not isinstance(labels, dict) or not all(isinstance(n, str) and LABEL_NAME.match(n) for n in labels):
        raise ValidationError({"runbook_for": "labels is an object of label names to a value or a matcher."})
    for name, wanted in labels.items():
        if not isinstance(wanted, str | dict) or (isinstance(wanted, dict) and "field" in wanted):
            raise ValidationError({"runbook_for": f"Label {name}: a string or a matcher without field."})
    problem = validate_matchers(label_matchers(labels))
    if problem:
        raise ValidationError({"runbook_for": problem})
    return {"services": sorted(set(services)), "severities": sorted(set(severities)), "labels": labels}


def match_score(runbook_for: dict | None, incident) -> int | None:
    """How well the selectors fit the incident (higher is better), or None when they do not."""
    if not runbook_for:
        return None
    services = runbook_for.get("services") or []
    severities = runbook_for.get("severities") or []
    matchers = label_matchers(runbook_for.get("labels") or {})
    if not (services or severities or matchers):
        return None
    if services and incident.service_id not in services:
        return None
    if severities and incident.severity not in severities:
        return None
    if matchers and not matches(matchers, incident, labels=incident.labels or {}, severity=incident.severity):
        return None
    return len(matchers) + bool(services) + bool(severities)


def steps_of(body: str) -> list[str]:
    """The checklist steps of a runbook: its Markdown task-list items (``- [ ] Drain the node``)."""
    return [m.group("text") for m in map(STEP.match, (body or "").splitlines()) if m]
