"""Reads of the national pages and statistics from the read replica, when there is one.

Inside ``replica_reads()`` (the national pages' GET and HEAD requests enter it through
``ReplicaReadsMiddleware``), reads of the collection's data (the ``submissions`` and
``reference`` apps) go to the ``replica`` alias named by ``DIDS_READ_REPLICA``. Everything else
reads from ``default``: accounts, sessions, second factors and sign-in locks, whose rows a
replica a second behind would get wrong (a session just made, a lock just taken). Writes, and
reads under ``select_for_update``, always go to ``default``. A signed-in user who has just
changed something (any successful POST, PUT, PATCH or DELETE) reads from ``default`` for the
next ``DIDS_REPLICA_AFTER_WRITE_SECONDS``, so that the page after a cut-off shows the cut-off.
Without a replica nothing changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

REPLICA_APPS = frozenset({"submissions", "reference"})
REPLICA_PATHS = ("/national/", "/api/cutoffs/", "/api/compliance")
SAFE_METHODS = ("GET", "HEAD")
WROTE_AT = "dids_wrote_at"  # session key: when this user last changed something

_replica_reads: ContextVar[bool] = ContextVar("dids_replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads of the collection's data in this block come from the replica (if configured)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def read_alias() -> str:
    """The alias reads of the collection's data use here and now."""
    replica = settings.DIDS_READ_REPLICA
    return replica if replica and _replica_reads.get() else "default"


class ReplicaRouter:
    """Django database router: see the module's docstring."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if model._meta.app_label in REPLICA_APPS:
            return read_alias()
        return "default"

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database and its copy: every row is on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"  # the replica follows the primary's schema by replication


class ReplicaReadsMiddleware:
    """National pages read from the replica on GET and HEAD (a POST reads what it writes), unless
    the signed-in user changed something a moment ago."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            response = self.get_response(request)
            if (response.status_code < 400 and settings.DIDS_READ_REPLICA
                    and self._signed_in(request)):
                request.session[WROTE_AT] = time.time()
            return response
        if request.path.startswith(REPLICA_PATHS) and not self._wrote_lately(request):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)

    @staticmethod
    def _signed_in(request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and hasattr(request, "session"))

    def _wrote_lately(self, request: HttpRequest) -> bool:
        if not settings.DIDS_READ_REPLICA or not self._signed_in(request):
            return False
        wrote_at = request.session.get(WROTE_AT)
        window = settings.DIDS_REPLICA_AFTER_WRITE_SECONDS
        return isinstance(wrote_at, int | float) and time.time() - wrote_at < window
