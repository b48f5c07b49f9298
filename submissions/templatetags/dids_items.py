"""Template filters for DIDS data items."""

from __future__ import annotations

from django import template

from submissions.engine.layout import display_name

register = template.Library()


@register.filter
def item_name(column: str | None) -> str:
    """A finding's item (a column name) as people read it: "nhs_number" -> "NHS number"."""
    name = display_name(column)
    return name[:1].upper() + name[1:]
