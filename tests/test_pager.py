"""Numbered page links (dids_portal.lib.pager): first, last, the current page and its
neighbours, an ellipsis only where it hides more than one page."""

from __future__ import annotations

from dids_portal.lib.pager import page_links, paginate


def _numbers(current: int, pages: int) -> list[int | str]:
    page = paginate(list(range(pages * 10)), count=pages * 10, per_page=10, number=current)
    links = page_links(page, {"rule": "DIDS001"})
    return ["…" if item.ellipsis else item.number for item in links["items"]]


def test_page_links_show_first_last_and_neighbours_with_ellipses_between() -> None:
    assert _numbers(10, 40) == [1, "…", 9, 10, 11, "…", 40]


def test_page_links_show_a_single_hidden_page_instead_of_an_ellipsis() -> None:
    assert _numbers(4, 7) == [1, 2, 3, 4, 5, 6, 7]


def test_a_single_page_has_no_links() -> None:
    page = paginate([1, 2], count=2, per_page=50, number=1)
    assert page_links(page, {}) == {"items": [], "previous": "", "next": ""}


def test_previous_and_next_keep_the_filters() -> None:
    page = paginate(list(range(100)), count=100, per_page=10, number="4")
    links = page_links(page, {"rule": "DIDS001", "item": ""})
    assert (links["previous"], links["next"]) == ("?rule=DIDS001&page=3", "?rule=DIDS001&page=5")
