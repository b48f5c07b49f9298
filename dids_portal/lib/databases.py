"""The database aliases, from the environment's URLs (read by settings.py; pure, so tested).

``default`` takes every write and most reads. ``replica`` (``DATABASE_REPLICA_URL``, optional)
is a streaming replica of it, read by the national pages and statistics through
``dids_portal.db_router``. ``DATABASE_POOLER=pgbouncer`` makes both safe behind PgBouncer in
transaction pooling: no server-side cursors (a named cursor does not survive the end of a
transaction on a pooled server connection) and no persistent connections (the pooler keeps
them). Session-level advisory locks (the extract writer's, ``pg_advisory_lock``) need a
direct connection: the worker serving the ``extracts`` queue connects to PostgreSQL itself,
and refuses to start behind the pooler (``dids_portal.celery``).
"""

from __future__ import annotations

from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

POOLERS = ("", "pgbouncer")
SQLITE = "django.db.backends.sqlite3"


def _parse(name: str, url: str, *, conn_max_age: int) -> dict[str, Any]:
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=conn_max_age))
    except ValueError as exc:  # dj-database-url raises ValueError on an unknown scheme
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from exc
    if config["ENGINE"] == SQLITE:
        config["OPTIONS"] = {"timeout": 20}
        config["CONN_MAX_AGE"] = 0
    return config


def database_aliases(*, url: str, replica_url: str = "", pooler: str = "") -> dict[str, dict[str, Any]]:
    """Django's DATABASES for the primary, an optional replica and an optional pooler."""
    if pooler not in POOLERS:
        raise ImproperlyConfigured(
            f"DATABASE_POOLER must be empty or 'pgbouncer' (transaction pooling), got {pooler!r}")
    conn_max_age = 0 if pooler else 60
    databases = {"default": _parse("DATABASE_URL", url, conn_max_age=conn_max_age)}
    if replica_url:
        replica = _parse("DATABASE_REPLICA_URL", replica_url, conn_max_age=conn_max_age)
        if replica["ENGINE"] != databases["default"]["ENGINE"]:
            raise ImproperlyConfigured("DATABASE_REPLICA_URL must be the same engine as DATABASE_URL")
        # Tests make no database of their own for it: it mirrors default's test database.
        replica["TEST"] = {"MIRROR": "default"}
        databases["replica"] = replica
    if pooler:
        if databases["default"]["ENGINE"] == SQLITE:
            raise ImproperlyConfigured("DATABASE_POOLER=pgbouncer needs a PostgreSQL DATABASE_URL")
        for config in databases.values():
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return databases
