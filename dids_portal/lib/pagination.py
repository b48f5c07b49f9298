"""The API's pagination: DRF's, with every malformed paging value a 400.

DRF falls back to the default on a ``limit`` that is not a number and takes any size of
number, which the database then refuses (``LIMIT 999999999999999999999``: a 500). Here a value
that is not a whole number in range is a validation error naming the parameter, and an invalid
cursor is a 400 too (DRF answers 404).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination
from rest_framework.request import Request

# The largest offset any list takes: far past any table here, well inside every integer type.
MAX_OFFSET = 2**31 - 1


def query_int(request: Request, name: str, *, minimum: int, maximum: int) -> int | None:
    """A whole-number query parameter in [minimum, maximum], None if absent or blank; any other
    value is a validation error naming it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(maximum))):
        value = None
    else:
        value = int(text)
    if value is None or not minimum <= value <= maximum:
        raise exceptions.ValidationError(
            {name: [f"Give a whole number from {minimum} to {maximum}."]})
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = 1000

    def get_limit(self, request: Request) -> int | None:
        limit = query_int(request, self.limit_query_param, minimum=1, maximum=self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        offset = query_int(request, self.offset_query_param, minimum=0, maximum=MAX_OFFSET)
        return offset or 0


class CursorPagination(pagination.CursorPagination):
    invalid_cursor_message = "The cursor is not valid: follow the next and previous links."

    def get_page_size(self, request: Request) -> int:
        if self.page_size_query_param and self.max_page_size:
            size = query_int(request, self.page_size_query_param, minimum=1,
                             maximum=self.max_page_size)
            if size is not None:
                return size
        return self.page_size  # type: ignore[no-any-return]

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                # The position goes into a filter on the ordering field: it must be one of its
                # values (a forged "p=abc" on an id was a 500).
                field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
                field.to_python(cursor.position)
        except (exceptions.NotFound, DjangoValidationError) as exc:
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}) from exc
        return cursor
