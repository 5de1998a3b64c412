"""Serializer bases and shared fields for the API: unknown input is an error, never silently dropped,
and nothing reaches the database that it cannot store.

A client that misspells ``severity`` as ``severty`` must hear about it, not find its change ignored.
Read-only fields sent back are refused the same way: echoing ``slug`` in a PATCH changes nothing,
and saying so beats letting the client believe it did.

What every app's serializers get from here (the Strict bases install it, so declared fields of any
class are covered without each app repeating it):

* text PostgreSQL cannot store (a NUL character, an unpaired UTF-16 surrogate) anywhere in a field's
  value, dict keys and nested JSON included, is a field error (``unstorable_text``) instead of a
  ``DataError`` at save time;
* a related id that is not an integer (``true``, ``1.5``) is a field error instead of a lookup of
  row 1; ``1e400`` is already refused by the JSON parser;
* model ``JSONField``s map to :class:`SafeJSONField`, ``DateTimeField``s to
  :class:`BoundedDateTimeField`, related fields to :class:`StrictPrimaryKeyRelatedField`.

For fields declared by hand: :class:`SafeDictField` (keys validated too), :class:`SafeJSONField`,
:class:`BoundedDateTimeField` and :class:`OrganizationScopedPrimaryKeyField`.
"""

import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

UNSTORABLE_MESSAGE = "Text with a NUL character or an unpaired surrogate cannot be stored{where}."
# PostgreSQL keeps offsets up to ±15:59 and Python up to ±23:59; past that a timestamp is a DataError.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# Far from the ends of Python's and PostgreSQL's ranges, so arithmetic on an accepted instant (a
# recurrence, a deadline, a conversion to a local time) cannot overflow; no real event lies outside.
EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)
MAX_DICT_KEY_LENGTH = 200
# Largest value of a bigint primary key.
MAX_ID = 2**63 - 1


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only unpaired surrogates fail: everything else encodes
        return False
    return True


def unstorable_text(value, path: str = "") -> str | None:
    """The dotted path of the first string (a dict key or a value, at any depth) that PostgreSQL
    cannot store in a text or jsonb column, or ``None`` when every string is storable."""
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if not _storable(node):
                return where
        elif isinstance(node, Mapping):
            for key, child in node.items():
                key_text = str(key)
                child_path = f"{where}.{printable(key_text)}" if where else printable(key_text)
                if not _storable(key_text):
                    return child_path
                stack.append((child, child_path))
        elif isinstance(node, list | tuple):
            stack.extend(
                (child, f"{where}.{index}" if where else str(index)) for index, child in enumerate(node)
            )
    return None


def printable(text: str) -> str:
    """``text`` safe to echo in an error (a key naming an unknown field may itself be unstorable)."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _unstorable_error(where: str | None) -> ErrorDetail:
    suffix = f" (at `{where}`)" if where else ""
    return ErrorDetail(UNSTORABLE_MESSAGE.format(where=suffix), code="unstorable_text")


def _raw_value_error(field, value) -> ErrorDetail | None:
    """What no field of the project accepts, whatever class an app declared it with."""
    where = unstorable_text(value)
    if where is not None:
        return _unstorable_error(where or None)
    related = field.child_relation if isinstance(field, serializers.ManyRelatedField) else field
    if isinstance(related, serializers.PrimaryKeyRelatedField) and related.pk_field is None:
        values = (
            value if isinstance(field, serializers.ManyRelatedField) and isinstance(value, list) else [value]
        )
        for item in values:
            if item is not None and not _is_id(item):
                return ErrorDetail(
                    f"An id is a positive integer, not {printable(repr(item))[:40]}.", code="incorrect_type"
                )
    return None


def _is_id(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= MAX_ID
    return isinstance(value, int) and 0 < value <= MAX_ID


class StrictFieldsMixin:
    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = {name: field for name, field in self.fields.items() if not field.read_only}
            for key in data:
                if key in writable:
                    error = _raw_value_error(writable[key], data[key])
                    if error is not None:
                        unknown[key] = [error]
                    continue
                name = printable(str(key))
                if key in self.fields:
                    unknown[name] = [ErrorDetail("This field is read-only.", code="read_only")]
                else:
                    unknown[name] = [ErrorDetail("Unknown field.", code="unknown_field")]
        unknown.update(self._missing_in_nested_patch(data, unknown))
        if unknown and any(
            error.code == "unstorable_text" for errors in unknown.values() for error in errors
        ):
            # Validating the rest would echo the unstorable text back in other errors (a dict key
            # named in a child's error): answer with what is known.
            raise serializers.ValidationError(unknown)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def _missing_in_nested_patch(self, data, known: dict) -> dict:
        """DRF lets a PATCH skip required fields at every depth, but a nested object sent in a
        PATCH (a runbook link, an escalation step) replaces the old one whole: its required fields
        stay required, or ``validate()`` meets a half object (a KeyError, a 500)."""
        if not isinstance(data, Mapping) or self.parent is None or not getattr(self.root, "partial", False):
            return {}
        return {
            name: [ErrorDetail("This field is required.", code="required")]
            for name, field in self.fields.items()
            if field.required and not field.read_only and name not in data and name not in known
        }


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


# --- fields ------------------------------------------------------------------------------------


class SafeJSONField(serializers.JSONField):
    """Any JSON, as long as every key and string in it can be stored."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        where = unstorable_text(value)
        if where is not None:
            raise serializers.ValidationError([_unstorable_error(where or None)])
        return value


class SafeDictField(serializers.DictField):
    """A JSON object whose keys are validated as well as its values: non-empty strings of at most
    ``max_key_length`` characters that can be stored. Values default to storable strings."""

    default_error_messages = {
        "invalid_key": "Keys must be non-empty strings of at most {max_key_length} characters.",
    }

    def __init__(self, *, max_key_length: int = MAX_DICT_KEY_LENGTH, **kwargs):
        kwargs.setdefault("child", serializers.CharField(allow_blank=True))
        self.max_key_length = max_key_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            for key in data:
                if not isinstance(key, str) or not key or len(key) > self.max_key_length:
                    self.fail("invalid_key", max_key_length=self.max_key_length)
                if not _storable(key):
                    raise serializers.ValidationError([_unstorable_error(printable(key))])
        return super().to_internal_value(data)


def instant_problem(value: datetime) -> str | None:
    """Why the database cannot take ``value`` as a timestamp, or ``None`` when it can."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return "UTC offsets range from -15:59 to +15:59."
    try:
        utc = value.astimezone(UTC) if offset is not None else value.replace(tzinfo=UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST_INSTANT <= utc < LATEST_INSTANT:
        return f"Times range from {EARLIEST_INSTANT:%Y-%m-%d} to {LATEST_INSTANT:%Y-%m-%d} (UTC)."
    return None


class BoundedDateTimeField(serializers.DateTimeField):
    """An ISO 8601 instant the database can store and arithmetic on it cannot overflow."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            parsed = _parse_iso(value)
            problem = instant_problem(parsed) if parsed is not None else None
            if problem is not None:
                raise serializers.ValidationError(problem, code="out_of_range")
        result = super().to_internal_value(value)
        problem = instant_problem(result)
        if problem is not None:
            raise serializers.ValidationError(problem, code="out_of_range")
        return result


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id: a positive integer in a bigint's range, never ``true`` or ``1.5``."""

    def to_internal_value(self, data):
        if not _is_id(data):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class OrganizationScopedPrimaryKeyField(StrictPrimaryKeyRelatedField):
    """A primary key looked up among the caller organization's rows only (the serializer context
    carries ``organization``); another tenant's id reads exactly like one that does not exist."""

    def get_queryset(self):
        queryset = super().get_queryset()
        organization = self.context["organization"]
        if hasattr(queryset, "for_organization"):
            return queryset.for_organization(organization)
        return queryset.filter(organization=organization)


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.JSONField: SafeJSONField,
        models.DateTimeField: BoundedDateTimeField,
    }
    serializer_related_field = StrictPrimaryKeyRelatedField


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TimeZoneField(serializers.CharField):
    """An IANA time-zone name (``Europe/Berlin``), checked against the zone database."""

    default_error_messages = {"invalid_zone": "{value!r} is not a known IANA time zone."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("help_text", "IANA time-zone name, e.g. Europe/Berlin.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in _time_zones():
            self.fail("invalid_zone", value=value)
        return value
