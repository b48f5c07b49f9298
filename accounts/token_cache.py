"""Verified API tokens, remembered for a few seconds in each process.

A RIS polling its status calls the API many times a second with the same token; checking it
each time costs a query (the token, its owner and the owner's role) and the objects it builds.
Here a token that passed ``api_token_check`` is remembered for ``DIDS_API_TOKEN_CACHE_SECONDS``
(default 5; 0 turns the cache off), keyed by the SHA-256 of the plaintext, which is what the
database holds too: a key is found only by one who holds the token itself. Revocation is
honoured at once in the process that saves the change (``forget_all``, on every save of a
token, role or user: ``accounts.signals``) and within those seconds in the others; so are a lost role, a deactivated
owner and expiry (expiry is also checked on every hit).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import ApiToken

MAX_ENTRIES = 10_000  # far more tokens than one process serves; a full cache starts again

_entries: dict[str, tuple[float, ApiToken]] = {}
_lock = threading.Lock()


def recall(key_hash: str) -> ApiToken | None:
    """A copy of the verified token for this hash, if it was verified in the last seconds."""
    entry = _entries.get(key_hash)
    if entry is None:
        return None
    until, token = entry
    if time.monotonic() >= until or token.expires_at <= timezone.now():
        _entries.pop(key_hash, None)
        return None
    # Each request gets its own objects: nothing one request sets on them reaches another.
    fresh = _copy(token)
    fresh.user = _copy(token.user)
    return fresh


def _copy(instance: Any) -> Any:
    """What ``copy.copy`` makes of a model instance (its ``__getstate__``: the attributes, the
    state and its cache of related objects copied one level deep), without the pickling
    protocol's round trip, which cost more than the rest of the token check."""
    fresh = object.__new__(type(instance))
    state = copy.copy(instance._state)
    state.fields_cache = dict(instance._state.fields_cache)
    fresh.__dict__.update(instance.__dict__, _state=state)
    return fresh


def remember(key_hash: str, token: ApiToken) -> None:
    seconds = settings.DIDS_API_TOKEN_CACHE_SECONDS
    if seconds <= 0:
        return
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key_hash] = (time.monotonic() + seconds, token)


def forget_all() -> None:
    """Forget every verified token (after a token is stopped, or a role or user changes)."""
    with _lock:
        _entries.clear()
