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


class CountedPage:
    """A Django ``Page`` whose ``has_previous``/``has_next`` read as values, like LookaheadPage's:
    the design system's ``{% pagination %}`` tag tests them without calling them."""

    def __init__(self, page):
        self._page = page
        self.object_list = page.object_list
        self.number = page.number
        self.paginator = page.paginator
        self.has_previous = page.has_previous()
        self.has_next = page.has_next()
        self.has_other_pages = page.has_other_pages()

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def next_page_number(self) -> int:
        return self._page.next_page_number()

    def previous_page_number(self) -> int:
        return self._page.previous_page_number()


def counted_page(queryset, number, size: int) -> CountedPage:
    """A page of a short list with its total (services: tens, not millions)."""
    return CountedPage(Paginator(queryset, size).get_page(number))
