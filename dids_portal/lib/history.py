"""Who and why for django-simple-history, set explicitly by every service that writes."""

from __future__ import annotations

from typing import Any

# simple-history's change reason column is 100 characters.
REASON_LENGTH = 100


def history_set(obj: Any, *, actor: Any, reason: str) -> None:
    """The next save of ``obj`` is recorded as done by ``actor`` (a saved user, else nobody)
    for ``reason``."""
    obj._history_user = actor if getattr(actor, "pk", None) else None
    obj._change_reason = reason[:REASON_LENGTH]
