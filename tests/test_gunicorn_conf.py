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


def test_a_worker_that_stops_cleanly_ends_its_process_at_once(tmp_path) -> None:
    """A real gunicorn whose workers recycle after 5 requests: each recycled worker's process
    ends and its replacement boots within seconds (gunicorn 27's gthread worker otherwise
    lingers until the master kills it at ``timeout``, and the server stops answering)."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "error.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dids_portal.settings", "DEBUG": "0",
           "SECRET_KEY": "test-only-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
           "GUNICORN_MAX_REQUESTS": "5", "GUNICORN_MAX_REQUESTS_JITTER": "1",
           "GUNICORN_TIMEOUT": "60", "GUNICORN_ACCESS_LOG": "", "GUNICORN_ERROR_LOG": str(log)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", "--bind",
                                f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
                               cwd=settings.BASE_DIR, env=env, start_new_session=True)
    try:
        answered = 0
        deadline = time.monotonic() + 30
        while answered < 20 and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    answered += r.status == 200
            except OSError:
                time.sleep(0.1)
        assert answered == 20, log.read_text()

        def alive(pid: str) -> bool:
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return False
            return True

        # The last recycled worker may still be finishing its final request: give it a few
        # seconds (a lingering worker would take the 60 s timeout).
        settle = time.monotonic() + 10
        while True:
            text = log.read_text()
            exited = re.findall(r"Worker exiting \(pid: (\d+)\)", text)
            if (len(exited) >= 3 and not any(map(alive, exited))) or time.monotonic() > settle:
                break
            time.sleep(0.1)
        assert len(exited) >= 3, text
        assert "WORKER TIMEOUT" not in text
        for pid in exited:
            with pytest.raises(ProcessLookupError):
                os.kill(int(pid), 0)
    finally:
        process.terminate()
        process.wait(timeout=30)
