"""Who and why for django-simple-history, set explicitly by every service that writes, and
told back in words on the history pages:

"Changed by Jane Admin on 3 Nov 2026 at 14:05: valid to 2026-03-31 → 2026-04-30. Reason: …"
A record with no user was written by the system (a command, an import task, a migration).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone

# simple-history's change reason column is 100 characters.
REASON_LENGTH = 100


def history_set(obj: Any, *, actor: Any, reason: str) -> None:
    """The next save of ``obj`` is recorded as done by ``actor`` (a saved user, else nobody)
    for ``reason``."""
    obj._history_user = actor if getattr(actor, "pk", None) else None
    obj._change_reason = reason[:REASON_LENGTH]


VERBS = {"+": "Created", "~": "Changed", "-": "Deleted"}


def actor_name(user: Any) -> str:
    if user is None:
        return "the system"
    return getattr(user, "full_name", "") or getattr(user, "email", "") or str(user)


def when(moment: datetime) -> str:
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{local.day} {local:%b %Y at %H:%M}"


def value_text(value: Any) -> str:
    if value is None or value == "":
        return "blank"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def changes_text(record: Any, previous: Any) -> str:
    """The fields that differ from the previous version: "name A → B; closed blank → 2026-04-30"."""
    if previous is None:
        return ""
    delta = record.diff_against(previous, foreign_keys_are_objs=False)
    opts = record.instance_type._meta
    order = {field.name: index for index, field in enumerate(opts.fields)}
    parts = []
    for change in sorted(delta.changes, key=lambda change: order.get(change.field, 0)):
        label = str(opts.get_field(change.field).verbose_name)
        parts.append(f"{label} {value_text(change.old)} → {value_text(change.new)}")
    return "; ".join(parts)


def history_sentence(record: Any, previous: Any) -> str:
    verb = VERBS.get(record.history_type, "Saved")
    sentence = f"{verb} by {actor_name(record.history_user)} on {when(record.history_date)}"
    if record.history_type == "~":
        changes = changes_text(record, previous)
        sentence += f": {changes}." if changes else ", with no change to its values."
    else:
        sentence += "."
    reason = (record.history_change_reason or "").strip()
    return f"{sentence} Reason: {reason}" if reason else f"{sentence} No reason given."
