"""gunicorn.conf.py: the production server's settings."""

from __future__ import annotations

import runpy

import pytest
from django.conf import settings

CONF = str(settings.BASE_DIR / "gunicorn.conf.py")


def test_the_access_log_never_writes_query_strings() -> None:
    conf = runpy.run_path(CONF)
    # %(U)s is the path alone; %(r)s (the request line) and %(q)s carry the query string.
    assert "%(U)s" in conf["access_log_format"]
    assert "%(r)s" not in conf["access_log_format"] and "%(q)s" not in conf["access_log_format"]


def test_workers_and_threads_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    conf = runpy.run_path(CONF)
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 8, "gthread")


def test_a_bad_worker_count_stops_start_up(monkeypatch) -> None:
    monkeypatch.setenv("GUNICORN_WORKERS", "two")
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
        runpy.run_path(CONF)
