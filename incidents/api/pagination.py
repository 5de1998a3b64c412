"""Keyset ("seek") pagination for the incident list, under any of its sorts.

``TimeOrderedCursorPagination`` positions its cursor on the first ordering column only and counts an
offset among rows that share its value. That is right for a time column, but the list can also be
sorted by severity, where tens of thousands of rows share one value: the offset would grow into a
deep scan, and DRF caps it, so paging past the cap would repeat rows. Here the cursor holds the last
row's value of *every* ordering column (the final one being the primary key), and the next page is
the rows strictly after that tuple: no COUNT, no OFFSET, and rows arriving while a client pages
never shift its pages.
"""

import base64
import binascii
import json
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from opsplatform.api.pagination import (
    MAX_PAGE_SIZE,
    TimeOrderedCursorPagination,
    page_size_from,
    page_size_parameter,
)

INVALID_CURSOR = "Invalid cursor: restart from the first page."


def _flip(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


def _encode_value(value):
    # Full precision: a cursor rounded to milliseconds would skip or repeat rows stamped in between.
    return value.isoformat() if isinstance(value, datetime) else value


class KeysetPagination(BasePagination):
    """Pages of ``?page_size=`` rows (at most 200) linked by opaque ``next``/``previous`` cursors.

    The ordering is the queryset's own ``order_by()``: plain field names, the last one unique
    (the primary key), so the order is total.
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    # --- paging ---------------------------------------------------------------------------------
    def paginate_queryset(self, queryset, request, view=None):
        self.base_url = remove_query_param(request.build_absolute_uri(), self.cursor_query_param)
        self.page_size = self.get_page_size(request)
        self.model = queryset.model
        self.ordering = self._ordering_of(queryset)
        position, backwards = self._decode(request)

        ordering = [_flip(term) for term in self.ordering] if backwards else self.ordering
        queryset = queryset.order_by(*ordering)
        if position is not None:
            queryset = queryset.filter(self._after(ordering, position))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            rows.reverse()
            self.has_previous, self.has_next = more, True
        else:
            self.has_previous, self.has_next = position is not None, more
        if not rows:
            self.has_previous = self.has_next = False
        self.rows = rows
        return rows

    def get_page_size(self, request) -> int:
        # The rule of every list (docs/api.md): absent means the default, anything else is a 400.
        return page_size_from(request, default=api_settings.PAGE_SIZE, maximum=self.max_page_size)

    @staticmethod
    def _ordering_of(queryset) -> list[str]:
        pk_name = queryset.model._meta.pk.name
        ordering = []
        for term in queryset.query.order_by:
            if not isinstance(term, str) or "__" in term or "?" in term:
                ordering = []
                break
            descending, name = term.startswith("-"), term.lstrip("-")
            name = pk_name if name == "pk" else name
            ordering.append(f"-{name}" if descending else name)
        if not ordering or ordering[-1].lstrip("-") != pk_name:
            raise ImproperlyConfigured(
                "KeysetPagination needs an order_by() of plain fields ending in the primary key, "
                f"got {queryset.query.order_by!r}"
            )
        return ordering

    @staticmethod
    def _after(ordering: list[str], position: list) -> Q:
        """Rows strictly after ``position`` in ``ordering``: (a > x) or (a = x and b > y) or …"""
        after, equal = Q(), Q()
        for term, value in zip(ordering, position, strict=True):
            name = term.lstrip("-")
            after |= equal & Q(**{f"{name}__{'lt' if term.startswith('-') else 'gt'}": value})
            equal &= Q(**{name: value})
        # Redundant with the disjunction, but a plain range on the leading column is what lets the
        # index scan start at the cursor instead of walking every earlier row.
        first, value = ordering[0], position[0]
        leading = Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": value})
        return leading & after

    # --- cursors --------------------------------------------------------------------------------
    def _key(self, row) -> list:
        meta = row._meta
        return [
            _encode_value(getattr(row, meta.get_field(term.lstrip("-")).attname)) for term in self.ordering
        ]

    def _encode(self, row, *, backwards: bool) -> str:
        payload = {"o": self.ordering, "p": self._key(row), "r": backwards}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, request) -> tuple[list | None, bool]:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None, False
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            payload = json.loads(raw)
            ordering, values, backwards = payload["o"], payload["p"], payload["r"]
        except (binascii.Error, ValueError, TypeError, KeyError) as exc:
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from exc
        # A cursor from another sort would seek by the wrong columns.
        if ordering != self.ordering or not isinstance(values, list) or len(values) != len(ordering):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
        return self._parse(values), bool(backwards)

    def _parse(self, values: list) -> list:
        parsed = []
        for term, value in zip(self.ordering, values, strict=True):
            field = self._model_field(term)
            if not isinstance(value, str | int):
                raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
            try:
                # clean(), not just to_python(): a doctored cursor must not reach the database with
                # an integer out of the column's range or a value outside the field's choices.
                python = field.clean(value, None)
            except (DjangoValidationError, TypeError, ValueError) as exc:
                raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from exc
            if python is None or (isinstance(python, datetime) and python.tzinfo is None):
                raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]})
            parsed.append(python)
        return parsed

    def _model_field(self, term: str):
        return self.model._meta.get_field(term.lstrip("-"))

    # --- response -------------------------------------------------------------------------------
    def get_next_link(self):
        if not self.has_next:
            return None
        return replace_query_param(
            self.base_url, self.cursor_query_param, self._encode(self.rows[-1], backwards=False)
        )

    def get_previous_link(self):
        if not self.has_previous:
            return None
        return replace_query_param(
            self.base_url, self.cursor_query_param, self._encode(self.rows[0], backwards=True)
        )

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            page_size_parameter(self.max_page_size),
        ]


class NotePagination(TimeOrderedCursorPagination):
    ordering = ("created_at", "id")


class TimelinePagination(TimeOrderedCursorPagination):
    # The ledger sequence is unique within the organization's chain: oldest first, no tie-breaker.
    ordering = ("sequence",)
