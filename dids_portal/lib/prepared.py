"""Statements PostgreSQL plans once a connection: ``PREPARE`` the first time, ``EXECUTE`` after.

Planning a status poll's statement costs PostgreSQL more than running it. Where connections
persist (``CONN_MAX_AGE``) and no pooler hands them from client to client
(``DATABASE_POOLER=pgbouncer`` sets ``DISABLE_SERVER_SIDE_CURSORS`` and ``CONN_MAX_AGE`` 0), a
statement is prepared once per connection, in the same round trip as its first run, and
executed by name after; elsewhere the statement itself is sent each time. Either way it goes
through Django's cursor, so it is counted and logged as any query.

A prepared statement lives as long as the database session, whatever its transactions do (a
rollback does not undo ``PREPARE``). When the round trip that prepares fails, whether its
``PREPARE`` took is not known: the next call on that connection asks ``pg_prepared_statements``.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

_PARAMETER = re.compile(r"\$(\d+)\b")
_lock = threading.Lock()
# A psycopg connection -> its statements' names: True prepared, False perhaps (a failed try).
_known: weakref.WeakKeyDictionary[Any, dict[str, bool]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Statement:
    """A statement's name, its text with ``$1``-style parameters (a literal ``%`` written
    ``%%``, as psycopg reads it) and the parameters' types."""

    name: str
    sql: str
    types: tuple[str, ...]

    @cached_property
    def plain(self) -> str:
        """The text as sent whole: the parameters as psycopg's ``%(pN)s``."""
        return _PARAMETER.sub(r"%(p\1)s", self.sql)

    @cached_property
    def execute_sql(self) -> str:
        return f"EXECUTE {self.name} ({', '.join(['%s'] * len(self.types))})"

    @cached_property
    def prepare_sql(self) -> str:
        return f"PREPARE {self.name} ({', '.join(self.types)}) AS {self.sql}; {self.execute_sql}"


def persistent(db: Any) -> bool:
    """Whether ``db``'s connections outlive a request and are its own (no pooler between)."""
    return bool(db.settings_dict.get("CONN_MAX_AGE")) and not db.settings_dict.get(
        "DISABLE_SERVER_SIDE_CURSORS")


def execute(cursor: Any, db: Any, statement: Statement, params: Sequence[Any]) -> None:
    """Run ``statement`` with ``params`` on ``cursor``, a cursor of ``db`` (PostgreSQL); the
    caller fetches the rows."""
    if not persistent(db):
        cursor.execute(statement.plain, {f"p{n}": v for n, v in enumerate(params, start=1)})
        return
    with _lock:
        known = _known.setdefault(db.connection, {})
    state = known.get(statement.name)
    if state is False:  # an earlier try failed: did its PREPARE take?
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = %s)",
                       [statement.name])
        state = known[statement.name] = bool(cursor.fetchone()[0])
    if state:
        cursor.execute(statement.execute_sql, list(params))
        return
    known[statement.name] = False
    cursor.execute(statement.prepare_sql, list(params))
    known[statement.name] = True
    cursor.nextset()  # past PREPARE's empty result to EXECUTE's rows


def forget(db: Any, name: str) -> None:
    """Drop ``name`` from this connection of ``db`` (tests: as on a connection it has not been on)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = %s)", [name])
        if cursor.fetchone()[0]:
            cursor.execute(f"DEALLOCATE {name}")
    with _lock:
        _known.get(db.connection, {}).pop(name, None)
