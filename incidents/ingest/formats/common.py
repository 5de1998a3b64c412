"""Checking a decoded JSON document field by field, collecting every problem with its path."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from functools import lru_cache

from incidents.ingest.alert_event import MAX_LABEL_VALUE, MAX_LABELS, MAX_LINKS, PayloadError

# Go's zero time: Alertmanager sends it as endsAt of a firing alert.
_ZERO_TIME_PREFIX = "0001-01-01"
_FRACTION = re.compile(r"(\.\d+)")


class Checker:
    """Collects field errors; ``raise_if_any()`` turns them into one PayloadError."""

    def __init__(self):
        self.errors: list[dict] = []

    def error(self, path: str, message: str, code: str = "invalid") -> None:
        self.errors.append({"field": path, "message": message, "code": code})

    def raise_if_any(self) -> None:
        if self.errors:
            raise PayloadError(self.errors)

    # --- typed reads: return the value, or None after recording what is wrong -----------------------
    def obj(self, data, key, path, *, required=False) -> dict | None:
        value = data.get(key) if isinstance(data, dict) else None
        if value is None:
            if required:
                self.error(path, "This field is required.", "required")
            return None
        if not isinstance(value, dict):
            self.error(path, "Expected a JSON object.", "type")
            return None
        return value

    def array(self, data, key, path, *, required=False) -> list | None:
        value = data.get(key) if isinstance(data, dict) else None
        if value is None:
            if required:
                self.error(path, "This field is required.", "required")
            return None
        if not isinstance(value, list):
            self.error(path, "Expected a JSON array.", "type")
            return None
        return value

    def string(self, data, key, path, *, required=False, max_length=None, blank=True) -> str | None:
        value = data.get(key) if isinstance(data, dict) else None
        if value is None:
            if required:
                self.error(path, "This field is required.", "required")
            return None
        if not isinstance(value, str):
            self.error(path, "Expected a string.", "type")
            return None
        if not blank and not value.strip():
            self.error(path, "This field may not be blank.", "blank")
            return None
        if max_length is not None and len(value) > max_length:
            self.error(path, f"At most {max_length} characters.", "max_length")
            return None
        return value

    def string_map(self, data, key, path, *, required=False) -> dict[str, str] | None:
        value = self.obj(data, key, path, required=required)
        if value is None:
            return None
        bad = [name for name, item in value.items() if not isinstance(item, str)]
        if bad:
            self.error(f"{path}.{bad[0]}", "Label and annotation values are strings.", "type")
            return None
        return value

    def integer(self, data, key, path, *, minimum=None) -> int | None:
        value = data.get(key) if isinstance(data, dict) else None
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "Expected an integer.", "type")
            return None
        if minimum is not None and value < minimum:
            self.error(path, f"At least {minimum}.", "min_value")
            return None
        return value

    def timestamp(self, data, key, path) -> datetime | None:
        raw = self.string(data, key, path)
        if raw is None or not raw.strip():
            return None
        parsed = parse_timestamp(raw)
        if parsed is False:
            self.error(path, "Expected an RFC 3339 / ISO 8601 timestamp.", "invalid")
            return None
        return parsed


@lru_cache(maxsize=4096)  # a notification repeats the same few startsAt values many times
def parse_timestamp(raw: str) -> datetime | bool | None:
    """RFC 3339 with any fraction precision (Go sends nanoseconds); None for Go's zero time,
    False when it is not a timestamp. A time without an offset is taken as UTC."""
    text = raw.strip()
    if text.startswith(_ZERO_TIME_PREFIX):
        return None
    text = _FRACTION.sub(lambda m: m.group(1)[:7], text, count=1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # PagerDuty's own examples use "+0000": fromisoformat wants a colon before Python 3.11's parser
    # sees it, so add one.
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return False
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # "9999-12-31T23:59:59-23:00" is past the last instant a datetime holds
        return False


def clean_labels(*sources: dict | None) -> dict[str, str]:
    """Merged labels (later sources win), bounded in number and size."""
    merged: dict[str, str] = {}
    for source in sources:
        for key, value in (source or {}).items():
            if not isinstance(key, str) or not key:
                continue
            merged[key[:200]] = value[:MAX_LABEL_VALUE] if isinstance(value, str) else json.dumps(value)[:200]
            if len(merged) >= MAX_LABELS:
                return merged
    return merged


def link(href, text: str) -> dict | None:
    if isinstance(href, str) and href.startswith(("http://", "https://")):
        return {"href": href[:2000], "text": text[:200]}
    return None


def links(*items) -> list[dict]:
    return [item for item in items if item][:MAX_LINKS]


def digest(*parts: str, length: int = 32) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable id for an alert that came without one: its sorted label set."""
    return digest(json.dumps(labels, sort_keys=True, ensure_ascii=False), length=16)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
