"""One page of a list (activities, the review queue, the audit log) and its page links.

The partial templates/_pagination.html draws the links of a `Page`.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil


def page_count(total: int, size: int) -> int:
    """How many pages `total` rows fill: at least one, so an empty list still has its page 1."""
    return max(ceil(total / size), 1)


def page_number(requested: int, total: int, size: int) -> int:
    """The page to show: a page past the end shows the last one."""
    return min(max(requested, 1), page_count(total, size))


@dataclass
class Page:
    """One page of a list, and enough to draw its page links."""

    items: list
    number: int
    total: int
    size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.size)

    @property
    def offset(self) -> int:
        """Rows before this page (the query's OFFSET)."""
        return (self.number - 1) * self.size

    @property
    def first_index(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.size, self.total)

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to link, with None where a run of pages is left out: 1 … 4 5 6 … 20."""
        wanted = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        shown = sorted(n for n in wanted if 1 <= n <= self.pages)
        result: list[int | None] = []
        for number in shown:
            if result and number - result[-1] > 1:
                result.append(None)
            result.append(number)
        return result
