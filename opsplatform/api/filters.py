"""Query filters that refuse what the database cannot compare against, as a 400 naming the parameter.

``BoundedIsoDateTimeFilter`` is the datetime filter every list should use: an offset past ±15:59 or
an instant near the ends of time (``0001-01-01T00:00:00Z``) would otherwise reach PostgreSQL as a
``DataError`` or overflow converting to UTC (a 500). ``ApiFilterSet`` makes it the default for
model datetime fields declared through ``Meta.fields``.
"""

from datetime import UTC

from django import forms
from django.db import models
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField

from opsplatform.api.serializers import instant_problem


class BoundedIsoDateTimeField(IsoDateTimeField):
    def strptime(self, value, format):
        parsed = super().strptime(value, format)
        problem = instant_problem(parsed)
        if problem is not None:
            raise forms.ValidationError(problem, code="out_of_range")
        return parsed

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        problem = instant_problem(value)
        if problem is not None:
            raise forms.ValidationError(problem, code="out_of_range")
        # Compared in UTC: the offset the client wrote never reaches the database.
        return value.astimezone(UTC)


class BoundedIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class ApiFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.DateTimeField: {"filter_class": BoundedIsoDateTimeFilter},
    }
