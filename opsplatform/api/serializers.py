"""Serializer bases for the API: unknown input is an error, never silently dropped.

A client that misspells ``severity`` as ``severty`` must hear about it, not find its change ignored.
Read-only fields sent back are refused the same way: echoing ``slug`` in a PATCH changes nothing,
and saying so beats letting the client believe it did.
"""

import zoneinfo
from collections.abc import Mapping
from functools import lru_cache

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail


class StrictFieldsMixin:
    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            for key in data:
                if key in writable:
                    continue
                if key in self.fields:
                    unknown[key] = [ErrorDetail("This field is read-only.", code="read_only")]
                else:
                    unknown[key] = [ErrorDetail("Unknown field.", code="unknown_field")]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


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
