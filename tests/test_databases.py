"""The database aliases from the environment: a replica, PgBouncer, and what each refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dids_portal.lib.databases import database_aliases

PRIMARY = "postgres://dids@db-primary:5432/dids"
REPLICA = "postgres://dids@db-replica:5432/dids"


def test_a_primary_alone_keeps_connections_a_minute_and_uses_server_side_cursors() -> None:
    databases = database_aliases(url=PRIMARY)
    assert list(databases) == ["default"]
    assert databases["default"]["CONN_MAX_AGE"] == 60
    assert not databases["default"].get("DISABLE_SERVER_SIDE_CURSORS")


def test_a_replica_url_adds_a_replica_alias_that_tests_mirror_from_default() -> None:
    databases = database_aliases(url=PRIMARY, replica_url=REPLICA)
    assert databases["replica"]["HOST"] == "db-replica"
    assert databases["replica"]["TEST"] == {"MIRROR": "default"}


def test_pgbouncer_turns_off_server_side_cursors_and_persistent_connections_everywhere() -> None:
    databases = database_aliases(url=PRIMARY, replica_url=REPLICA, pooler="pgbouncer")
    for alias in ("default", "replica"):
        assert databases[alias]["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert databases[alias]["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize("kwargs", [
    {"url": PRIMARY, "pooler": "pgpool"},
    {"url": "sqlite:///portal.sqlite3", "pooler": "pgbouncer"},
    {"url": PRIMARY, "replica_url": "sqlite:///copy.sqlite3"},
    {"url": PRIMARY, "replica_url": "nosuchdb://x"},
])
def test_an_unknown_pooler_or_a_replica_or_pooler_that_cannot_work_stops_start_up(kwargs) -> None:
    with pytest.raises(ImproperlyConfigured):
        database_aliases(**kwargs)


def _worker(queues: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    environ.update({"DJANGO_SETTINGS_MODULE": "dids_portal.settings", "SECRET_KEY": "x" * 50,
                    "DATABASE_URL": PRIMARY, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0", **env})
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "dids_portal", "worker", "-Q", queues,
         "--pool", "solo", "--loglevel", "error"],
        cwd=settings.BASE_DIR, env=environ, capture_output=True, text=True, timeout=60,
        check=False)


def test_a_worker_serving_extracts_refuses_to_start_behind_pgbouncer() -> None:
    result = _worker("ingest,extracts", DATABASE_POOLER="pgbouncer")
    assert result.returncode != 0
    assert "needs a direct database connection" in result.stderr + result.stdout


def test_the_settings_module_reads_the_replica_and_the_pooler_from_the_environment() -> None:
    code = ("import json; from django.conf import settings as s; d = s.DATABASES; "
            "print(json.dumps([sorted(d), s.DIDS_READ_REPLICA, d['default']['CONN_MAX_AGE'], "
            "d['replica']['DISABLE_SERVER_SIDE_CURSORS'], s.DATABASE_ROUTERS]))")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    environ.update({"DJANGO_SETTINGS_MODULE": "dids_portal.settings", "SECRET_KEY": "x" * 50,
                    "DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA,
                    "DATABASE_POOLER": "pgbouncer"})
    result = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=environ,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["default", "replica"], "replica", 0, True,
                                         ["dids_portal.db_router.ReplicaRouter"]]
