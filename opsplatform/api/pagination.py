"""Two ways to page a list; pick per endpoint.

* :class:`DefaultPagination` (the project default): ``?page=3&page_size=100``, with a total
  ``count``. Right for lists a person browses: teams, members, services.
* :class:`TimeOrderedCursorPagination`: an opaque ``?cursor=`` over a time column. Right for large,
  growing, time-ordered lists (incidents, alerts, ledger entries, check results): no ``COUNT(*)``,
  no deep ``OFFSET`` scan, and no skipped or repeated rows while new ones arrive. Set it on the view::

      pagination_class = TimeOrderedCursorPagination
      # or, for another column or direction, a subclass with ordering = ("-started_at", "-id")

  The ordering must be backed by an index whose leading column is the organization, then the time.
"""

from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 200


class DefaultPagination(PageNumberPagination):
    # page_size comes from REST_FRAMEWORK["PAGE_SIZE"].
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class TimeOrderedCursorPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    # The cursor is a position in the first column plus an offset among equal values; the id makes
    # the order of rows stamped in the same microsecond stable, so that offset means the same rows.
    ordering = ("-created_at", "-id")
