"""Numbered pagination for the portal's HTML lists, as the NHS design system draws it.

``paginate`` pages any sliceable list (a queryset is sliced with LIMIT/OFFSET) whose length
the caller already knows, so no ``COUNT(*)`` is run; ``page_links`` gives the numbered items
of ``includes/pagination.html``: the first and last page, the current one and its neighbours,
with an ellipsis between, each link carrying the list's other query parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import QueryDict


class _KnownCountPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:  # type: ignore[override]
        return self._known_count


def paginate(object_list: Any, *, count: int, per_page: int, number: Any) -> Page:
    """The page ``number`` (a query parameter: anything not a page number gives the first
    page, past the end the last) of a list of ``count`` items."""
    return _KnownCountPaginator(object_list, per_page, count=count).get_page(number)


@dataclass(frozen=True)
class PageLink:
    number: int = 0
    href: str = ""
    current: bool = False
    ellipsis: bool = False


def page_href(query: Mapping[str, str], number: int) -> str:
    """``?<the other parameters>&page=<number>``, the other parameters kept as they are."""
    params = QueryDict(mutable=True)
    for key, value in query.items():
        if key != "page" and value:
            params[key] = value
    params["page"] = str(number)
    return "?" + params.urlencode()


def page_links(page: Page, query: Mapping[str, str]) -> dict[str, Any]:
    """The context of ``includes/pagination.html`` for this page of the list."""
    last = page.paginator.num_pages
    current = page.number
    shown = sorted({1, last, *range(max(1, current - 1), min(last, current + 1) + 1)})
    items: list[PageLink] = []
    for number in shown:
        gap = number - items[-1].number if items else 1
        if gap == 2:  # one page between: show it rather than an ellipsis
            items.append(PageLink(number=number - 1, href=page_href(query, number - 1)))
        elif gap > 2:
            items.append(PageLink(number=number - 1, ellipsis=True))
        items.append(
            PageLink(number=number, href=page_href(query, number), current=number == current)
        )
    return {
        "items": items if last > 1 else [],
        "previous": page_href(query, current - 1) if page.has_previous() else "",
        "next": page_href(query, current + 1) if page.has_next() else "",
    }
