"""Gunicorn settings for production: ``gunicorn -c gunicorn.conf.py``.

Each setting can be changed by its environment variable (or a command-line flag, which wins).
Threads, not only processes: a request mostly waits on PostgreSQL, and each thread keeps its
own database connection (CONN_MAX_AGE), so workers x threads connections in all. Eight
threads a process, not four: an upload holds its thread while its file streams in, so on the
deadline day eight uploads at once took every thread of 2 x 4 and the status polls beside them
queued behind the files (bench/rush.py: polls while uploading p95 576 ms at 2 x 4, 319 ms at
2 x 8; the whole rush's p95 379 ms against 201 ms).
"""

from __future__ import annotations

import logging
import os
import sys


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        number = int(value) if value else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, not {value!r}.") from exc
    if number < 1:
        raise SystemExit(f"{name} must be at least 1.")
    return number


wsgi_app = "dids_portal.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", 2)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 8)
# Uploads of up to DIDS_MAX_UPLOAD_BYTES are read by the web process (validation runs in
# Celery), so a request may take a while on a slow link; a stuck worker is still replaced.
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (with jitter, so they do not all restart at once).
max_requests = _int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1_000)
# Load the application once in the master, before forking: faster start, shared memory; and
# warm it there (when_ready below), so a new or recycled worker's first request is not slow.
preload_app = True
# The proxy in front is the only client that may set X-Forwarded-*; list its address.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Access log without the query string (%(U)s is the path alone): query strings may carry
# identifiers. No user agent or referrer either.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No runtime control socket (gunicornc): nothing uses it, and it is one more way in.
control_socket_disable = True


def when_ready(server: object) -> None:
    """In the master, before the workers fork: import the URL conf (and so every view), which
    Django otherwise does on each worker's first request (seconds, not milliseconds)."""
    if not preload_app:
        return
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imported for its side effect
    connections.close_all()  # a connection opened here must not be shared by the workers


def worker_exit(server: object, worker: object) -> None:
    """In a worker that has stopped cleanly (after max_requests, or told to): end the process
    now. gunicorn 27's gthread worker returns from its loop and logs "Worker exiting", but the
    interpreter then waits on its thread pool's threads, so the process lingers until the master
    kills it at ``timeout`` (120 s) and only then starts its replacement: meanwhile the server
    has one worker fewer, and none at all when both recycle together (bench/api.py's 10 s
    time-outs after /healthz's run). Any other exit (a boot or load error) keeps its own code."""
    exc = sys.exc_info()[1]
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        logging.shutdown()  # flush the logs first: os._exit runs no exit handlers
        os._exit(0)
