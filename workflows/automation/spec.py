"""What a rule may say: its conditions (matcher groups) and its actions. Validated on every write, so
a stored rule can always be evaluated and executed (a bad value never reaches the consumer).

Conditions: ``{"match": "all" | "any", "groups": [{"match": "all" | "any", "matchers": [...]}]}``.
A matcher has the syntax of the routing rules' matchers (``incidents.ingest.matching``:
``{"field", "op": equals|regex|exists, "value", "negate"}``) over the incident the event concerns:
``severity``, ``title``, ``status``, ``source``, ``dedup_key``, ``group_key``, ``labels.<name>``, and
besides ``service`` and ``team`` (their slugs) and ``priority``. No groups: every event matches.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from incidents.ingest.matching import validate_matchers
from incidents.models import Priority, Severity
from opsplatform.core.http import vet_url

MATCH_MODES = ("all", "any")
EXTRA_FIELDS = ("service", "team", "priority")
MAX_GROUPS = 10
MAX_ACTIONS = 10
MAX_ATTEMPTS = 20
MAX_BACKOFF = 3600

ACTION_TYPES = {
    "start_workflow": "Start a workflow run",
    "create_task": "Create a task",
    "notify": "Notify people",
    "set_severity": "Set severity",
    "set_priority": "Set priority",
    "add_responders": "Add responders",
    "escalate": "Escalate now",
    "webhook": "Call a webhook",
    "remediate": "Retry the remediation hook, then escalate",
}
# Actions that act on the incident the event concerns; without one they are skipped.
INCIDENT_ACTIONS = {"set_severity", "set_priority", "add_responders", "escalate", "remediate"}
HTTP_ACTIONS = {"webhook", "remediate"}
PEOPLE_KEYS = ("users", "teams", "roles", "schedules")
ROLES = ("viewer", "operator", "manager", "admin", "owner")
COMMON_KEYS = {"type", "risky", "approvers"}
KEYS = {
    "start_workflow": {"workflow", "title"},
    "create_task": {"title", "description", "assignee", "due_minutes"},
    "notify": {"people", "message"},
    "set_severity": {"severity"},
    "set_priority": {"priority"},
    "add_responders": {"people"},
    "escalate": set(),
    "webhook": {"url", "retries", "backoff_seconds"},
    "remediate": {"url", "retries", "backoff_seconds", "escalate"},
}


def _matcher_problem(matcher) -> str | None:
    if isinstance(matcher, dict) and matcher.get("field") in EXTRA_FIELDS:
        # Same shape as the routing matchers, checked as one of theirs under a stand-in field.
        return validate_matchers([{**matcher, "field": "title"}])
    return validate_matchers([matcher])


def clean_conditions(raw) -> dict:
    if raw in (None, "", {}):
        return {"match": "all", "groups": []}
    if not isinstance(raw, dict) or set(raw) - {"match", "groups"}:
        raise ValidationError({"conditions": 'An object {"match": "all"|"any", "groups": [...]}.'})
    match = raw.get("match", "all")
    groups = raw.get("groups", [])
    if match not in MATCH_MODES:
        raise ValidationError({"conditions.match": "all or any."})
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise ValidationError({"conditions.groups": f"A list of at most {MAX_GROUPS} groups."})
    cleaned = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or set(group) - {"match", "matchers"}:
            raise ValidationError({f"conditions.groups.{i}": 'An object {"match", "matchers"}.'})
        if group.get("match", "all") not in MATCH_MODES:
            raise ValidationError({f"conditions.groups.{i}.match": "all or any."})
        matchers = group.get("matchers", [])
        if not isinstance(matchers, list) or not matchers:
            raise ValidationError({f"conditions.groups.{i}.matchers": "At least one matcher."})
        for j, matcher in enumerate(matchers):
            if problem := _matcher_problem(matcher):
                raise ValidationError(
                    {f"conditions.groups.{i}.matchers.{j}": problem.replace("Matcher 1: ", "")}
                )
        cleaned.append({"match": group.get("match", "all"), "matchers": matchers})
    return {"match": match, "groups": cleaned}


def _people(raw, where) -> dict:
    if not isinstance(raw, dict) or not raw or set(raw) - set(PEOPLE_KEYS):
        raise ValidationError({where: f"An object with some of {', '.join(PEOPLE_KEYS)}."})
    for key, values in raw.items():
        if not isinstance(values, list) or len(values) > 50 or len(set(values)) != len(values):
            raise ValidationError({f"{where}.{key}": "A list of at most 50, without repeats."})
        want = str if key == "roles" else int
        if not all(isinstance(v, want) and not isinstance(v, bool) for v in values):
            raise ValidationError({f"{where}.{key}": "Role names." if key == "roles" else "Ids."})
        if key == "roles" and set(values) - set(ROLES):
            raise ValidationError({f"{where}.roles": f"Roles among {', '.join(ROLES)}."})
    return {key: list(values) for key, values in raw.items()}


def _text(action, key, where, *, required, limit):
    value = action.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        need = "required, " if required else ""
        raise ValidationError({f"{where}.{key}": f"Text, {need}at most {limit} characters."})
    return value.strip()


def _int(action, key, where, *, low, high, default):
    value = action.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError({f"{where}.{key}": f"A whole number from {low} to {high}."})
    return value


def _url(action, where, *, required) -> str:
    url = action.get("url", "")
    if not url and not required:
        return ""
    if not isinstance(url, str) or len(url) > 500:
        raise ValidationError({f"{where}.url": "A URL of at most 500 characters."})
    try:
        parsed = vet_url(url, refuse_literal=False)
    except ValueError as exc:
        raise ValidationError({f"{where}.url": str(exc)}) from None
    if parsed.scheme not in ("http", "https"):
        raise ValidationError({f"{where}.url": "An http or https URL."})
    return url


def _start_workflow(action, where) -> dict:
    return {
        "workflow": _text(action, "workflow", where, required=True, limit=64),
        "title": _text(action, "title", where, required=False, limit=200),
    }


def _create_task(action, where) -> dict:
    out = {
        "title": _text(action, "title", where, required=True, limit=200),
        "description": _text(action, "description", where, required=False, limit=5000),
    }
    if action.get("assignee") is not None:
        out["assignee"] = _int(action, "assignee", where, low=1, high=2**62, default=None)
    if action.get("due_minutes") is not None:
        out["due_minutes"] = _int(action, "due_minutes", where, low=1, high=60 * 24 * 30, default=None)
    return out


def _notify(action, where) -> dict:
    return {
        "people": _people(action.get("people"), f"{where}.people"),
        "message": _text(action, "message", where, required=False, limit=2000),
    }


def _choice(key, choices):
    def clean(action, where) -> dict:
        if action.get(key) not in choices:
            raise ValidationError({f"{where}.{key}": f"One of {', '.join(choices)}."})
        return {key: action[key]}

    return clean


def _add_responders(action, where) -> dict:
    return {"people": _people(action.get("people"), f"{where}.people")}


def _http(kind):
    def clean(action, where) -> dict:
        out = {
            "url": _url(action, where, required=kind == "webhook"),
            "retries": _int(
                action,
                "retries",
                where,
                low=0,
                high=MAX_ATTEMPTS - 1,
                default=3 if kind == "remediate" else 5,
            ),
            "backoff_seconds": _int(action, "backoff_seconds", where, low=1, high=MAX_BACKOFF, default=30),
        }
        if kind == "remediate":
            if not isinstance(action.get("escalate", True), bool):
                raise ValidationError({f"{where}.escalate": "true or false."})
            out["escalate"] = action.get("escalate", True)
        return out

    return clean


CLEANERS = {
    "start_workflow": _start_workflow,
    "create_task": _create_task,
    "notify": _notify,
    "set_severity": _choice("severity", Severity.values),
    "set_priority": _choice("priority", Priority.values),
    "add_responders": _add_responders,
    "escalate": lambda action, where: {},
    "webhook": _http("webhook"),
    "remediate": _http("remediate"),
}


def _clean_one(action, where) -> dict:
    if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
        raise ValidationError({f"{where}.type": f"One of {', '.join(ACTION_TYPES)}."})
    kind = action["type"]
    unknown = set(action) - COMMON_KEYS - KEYS[kind]
    if unknown:
        raise ValidationError({where: f"Unknown key {sorted(unknown)[0]!r} for {kind}."})
    out = {"type": kind, **CLEANERS[kind](action, where)}
    risky = action.get("risky", False)
    if not isinstance(risky, bool):
        raise ValidationError({f"{where}.risky": "true or false."})
    if risky:
        approvers = action.get("approvers") or {"roles": ["manager", "admin", "owner"]}
        out["risky"] = True
        out["approvers"] = _people(approvers, f"{where}.approvers")
    elif "approvers" in action:
        raise ValidationError({f"{where}.approvers": "Approvers are for risky actions."})
    return out


def clean_actions(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ACTIONS:
        raise ValidationError({"actions": f"A list of 1 to {MAX_ACTIONS} actions."})
    return [_clean_one(action, f"actions.{i}") for i, action in enumerate(raw)]


def max_attempts(action: dict) -> int:
    return 1 + action.get("retries", 0) if action["type"] in HTTP_ACTIONS else 1


def describe(action: dict) -> str:
    """One line a person reads: what the action does (rule page, backtest)."""
    kind = action["type"]
    text = {
        "start_workflow": f"Start workflow {action.get('workflow')}",
        "create_task": f"Create task “{action.get('title')}”",
        "notify": f"Notify {_people_text(action.get('people', {}))}",
        "set_severity": f"Set severity to {action.get('severity')}",
        "set_priority": f"Set priority to {action.get('priority')}",
        "add_responders": f"Add responders: {_people_text(action.get('people', {}))}",
        "escalate": "Escalate now",
        "webhook": f"POST signed JSON to {action.get('url')}, up to {max_attempts(action)} attempts",
        "remediate": (
            f"Call the remediation hook {action.get('url') or '(of the service)'} up to "
            f"{max_attempts(action)} times" + (", then escalate" if action.get("escalate", True) else "")
        ),
    }[kind]
    return text + (" — after approval" if action.get("risky") else "")


def _people_text(people: dict) -> str:
    parts = [f"{key} {', '.join(map(str, values))}" for key, values in people.items() if values]
    return "; ".join(parts) or "nobody"
