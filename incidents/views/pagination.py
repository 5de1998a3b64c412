"""Page-number paging without COUNT(*): the list fetches one row more than it shows to know if
an older page exists. A tenant with 100,000 incidents would otherwise pay for counting them all on
every refresh of a page people keep open all day."""

from dataclasses import dataclass

from django.core.paginator import Paginator

MAX_PAGE = 10_000


@dataclass
class LookaheadPage:
    object_list: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def lookahead_page(queryset, number, size: int) -> LookaheadPage:
    try:
        number = min(max(int(number), 1), MAX_PAGE)
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return LookaheadPage(object_list=rows[:size], number=number, has_next=len(rows) > size)


def counted_page(queryset, number, size: int):
    """A page of a short list with its total (services: tens, not millions)."""
    return Paginator(queryset, size).get_page(number)
