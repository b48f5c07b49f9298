"""Admin building blocks shared by the apps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from dids_portal.lib.history import history_sentence


class ReadOnlyAdminMixin:
    """An admin that lists and shows, and never adds, changes or deletes: for rows that only
    services write (versions, the audit trail, releases)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadableHistoryMixin:
    """For a SimpleHistoryAdmin: the history page tells each version in words (who changed
    what, when and why; "by the system" where no user did), not as a table of raw columns."""

    object_history_list_template = "admin/history_list.html"

    def set_history_delta_changes(
        self,
        request: HttpRequest,
        historical_records: Sequence[Any],
        foreign_keys_are_objs: bool = True,
    ) -> None:
        records = list(historical_records)
        for index, record in enumerate(records):
            if index + 1 < len(records):
                previous = records[index + 1]
            else:  # the oldest on this page: its predecessor may be on the next page
                previous = record.prev_record if record.history_type == "~" else None
            record.history_sentence = history_sentence(record, previous)
