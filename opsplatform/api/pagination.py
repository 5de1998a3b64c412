"""Two ways to page a list; pick per endpoint. Both follow one rule for their parameters.

* :class:`DefaultPagination` (the project default): ``?page=3&page_size=100``, with a total
  ``count``. Right for lists a person browses: teams, members, services.
* :class:`TimeOrderedCursorPagination`: an opaque ``?cursor=`` over a time column. Right for large,
  growing, time-ordered lists (incidents, alerts, ledger entries, check results): no ``COUNT(*)``,
  no deep ``OFFSET`` scan, and no skipped or repeated rows while new ones arrive. Set it on the view::

      pagination_class = TimeOrderedCursorPagination
      # or, for another column or direction, a subclass with ordering = ("-started_at", "-id")

  The ordering must be backed by an index whose leading column is the organization, then the time.

The rule (``docs/api.md``, "Lists"): ``page_size`` is an integer from 1 to ``MAX_PAGE_SIZE``,
``page`` a page that exists, ``cursor`` one the server handed out; anything else is a 400 problem
naming the parameter. Silently serving another size than asked, or a 404 for a list that exists,
leaves a client guessing. A paginator of another app should call :func:`page_size_from` for the size.
"""

import re
from base64 import b64decode
from datetime import datetime
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.settings import api_settings

from opsplatform.api.serializers import instant_problem

MAX_PAGE_SIZE = 200
PAGE_SIZE_PARAM = "page_size"
INVALID_CURSOR = "Invalid cursor: restart from the first page."
_DIGITS = re.compile(r"[0-9]{1,9}")


def page_size_from(
    request, *, default: int, maximum: int = MAX_PAGE_SIZE, param: str = PAGE_SIZE_PARAM
) -> int:
    """The ``page_size`` the client asked for, ``default`` when it asked for none, else a 400."""
    raw = request.query_params.get(param)
    if raw is None:
        return default
    # ASCII digits only: int() would also take " 5", "+5", "1_0" and other scripts' digits.
    size = int(raw) if _DIGITS.fullmatch(raw) else 0
    if not 1 <= size <= maximum:
        raise ValidationError({param: [f"An integer from 1 to {maximum}."]})
    return size


def page_size_parameter(maximum: int = MAX_PAGE_SIZE) -> dict:
    return {
        "name": PAGE_SIZE_PARAM,
        "required": False,
        "in": "query",
        "description": f"Rows per page (default {api_settings.PAGE_SIZE}, at most {maximum}); "
        "anything else is a 400.",
        "schema": {"type": "integer", "minimum": 1, "maximum": maximum},
    }


class DefaultPagination(PageNumberPagination):
    # page_size comes from REST_FRAMEWORK["PAGE_SIZE"].
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    # DRF also takes "last"; one spelling of a page number is enough.
    last_page_strings = ()

    def get_page_size(self, request):
        return page_size_from(request, default=self.page_size, maximum=self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            # The list exists; the page asked for does not: the request is what is wrong.
            raise ValidationError({self.page_query_param: [str(exc.detail)]}) from exc

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1; a page past the last is a 400.",
                "schema": {"type": "integer", "minimum": 1},
            },
            page_size_parameter(self.max_page_size),
        ]


class TimeOrderedCursorPagination(CursorPagination):
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    # The cursor is a position in the first column plus an offset among equal values; the id makes
    # the order of rows stamped in the same microsecond stable, so that offset means the same rows.
    ordering = ("-created_at", "-id")

    def get_page_size(self, request):
        return page_size_from(request, default=self.page_size, maximum=self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's decoding, plus the checks it leaves to the database: the position must be a value
        of the first ordering column (a doctored one is otherwise a 500), and a bad cursor is a 400
        naming ``cursor`` rather than a 404 for a list that exists."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            tokens = parse.parse_qs(
                b64decode(encoded.encode("ascii")).decode("ascii"), keep_blank_values=True
            )
            offset = int(tokens.get("o", ["0"])[0])
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
        except (TypeError, ValueError, UnicodeError) as exc:
            raise self._invalid() from exc
        if not 0 <= offset <= self.offset_cutoff:
            raise self._invalid()
        if position is not None:
            self._check_position(position)
        return Cursor(offset=offset, reverse=reverse, position=position)

    def _check_position(self, position: str) -> None:
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            # clean(), not to_python(): an integer past the column's range must not reach the query.
            value = field.clean(position, None)
        except (DjangoValidationError, TypeError, ValueError, OverflowError) as exc:
            raise self._invalid() from exc
        if value is None or (isinstance(value, datetime) and instant_problem(value) is not None):
            raise self._invalid()

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [INVALID_CURSOR]})

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The opaque cursor of a `next` or `previous` link; any other is a 400.",
                "schema": {"type": "string"},
            },
            page_size_parameter(self.max_page_size),
        ]
