"""Alert matchers shared by routing rules and maintenance windows.

A matcher is ``{"field": …, "op": "equals" | "regex" | "exists", "value": "…", "negate": false}``:

* ``field``: ``severity``, ``source``, ``title``, ``status`` (firing / resolved / acknowledged),
  ``dedup_key``, ``group_key`` or ``labels.<name>``;
* ``equals`` compares the whole value; ``regex`` searches it (anchor with ``^…$`` for a full match);
  ``exists`` is true when the field is present and not empty;
* ``negate`` inverts the result.

A list of matchers matches when every one does; the empty list matches every alert.
"""

from __future__ import annotations

import re
from functools import lru_cache

OPS = ("equals", "regex", "exists")
PLAIN_FIELDS = ("severity", "source", "title", "status", "dedup_key", "group_key")
MAX_MATCHERS = 20
MAX_PATTERN = 500


@lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def _matcher_problem(matcher) -> str | None:
    if not isinstance(matcher, dict):
        return "an object with field, op and value."
    unknown = set(matcher) - {"field", "op", "value", "negate"}
    field = matcher.get("field")
    op = matcher.get("op", "equals")
    value = matcher.get("value", "")
    problem = None
    if unknown:
        problem = f"unknown key {sorted(unknown)[0]!r}."
    elif not isinstance(field, str) or not (
        field in PLAIN_FIELDS or (field.startswith("labels.") and len(field) > len("labels."))
    ):
        problem = f"field is one of {', '.join(PLAIN_FIELDS)} or labels.<name>."
    elif op not in OPS:
        problem = f"op is one of {', '.join(OPS)}."
    elif op != "exists" and not isinstance(value, str):
        problem = "value is a string."
    elif not isinstance(matcher.get("negate", False), bool):
        problem = "negate is true or false."
    elif op == "regex":
        problem = _pattern_problem(value)
    return problem


def _pattern_problem(value: str) -> str | None:
    if len(value) > MAX_PATTERN:
        return f"a pattern of at most {MAX_PATTERN} characters."
    try:
        _pattern(value)
    except re.error as exc:
        return f"invalid regular expression ({exc})."
    return None


def validate_matchers(matchers) -> str | None:
    """What is wrong with a matcher list, or None."""
    if not isinstance(matchers, list):
        return "A list of matchers."
    if len(matchers) > MAX_MATCHERS:
        return f"At most {MAX_MATCHERS} matchers."
    for index, matcher in enumerate(matchers):
        problem = _matcher_problem(matcher)
        if problem:
            return f"Matcher {index + 1}: {problem}"
    return None


def field_value(event, field: str, *, labels: dict | None = None, severity: str | None = None):
    """The event's value for ``field`` (None when absent); routing passes its current labels/severity."""
    if field.startswith("labels."):
        return (labels if labels is not None else event.labels).get(field[len("labels.") :])
    if field == "severity":
        return severity if severity is not None else event.severity
    return getattr(event, field, None)


def matches(matchers: list, event, **overrides) -> bool:
    for matcher in matchers:
        value = field_value(event, matcher["field"], **overrides)
        op = matcher.get("op", "equals")
        if op == "exists":
            hit = value not in (None, "")
        elif value is None:
            hit = False
        elif op == "equals":
            hit = str(value) == matcher.get("value", "")
        else:
            hit = _pattern(matcher["value"]).search(str(value)) is not None
        if hit == bool(matcher.get("negate", False)):
            return False
    return True
