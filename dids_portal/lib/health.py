"""Probes for load balancers and orchestrators: ``/healthz`` (the process answers) and
``/readyz`` (its database and broker answer too).

``ProbeMiddleware`` is placed first in ``MIDDLEWARE`` and answers both paths itself, before
the host check, the HTTPS redirect, sessions, authentication and the rest: a load balancer
probes a backend by its address over plain HTTP, and a probe should cost almost nothing.
The same views are also routed in ``dids_portal/urls.py`` (names ``healthz`` and ``readyz``).
Neither says anything about organisations or data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0

Handler = Callable[[HttpRequest], HttpResponse]


def _json(body: dict[str, object], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving requests. Touches no database, session or broker."""
    return _json({"status": "ok"})


def database_check() -> str:
    """"ok", or why the database does not answer a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("readyz: the database does not answer: %s", exc.__class__.__name__)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def broker_check() -> str:
    """"ok", "not used" (no broker: tasks run eagerly in the web process), or the error."""
    if settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL:
        return "not used"
    try:
        with current_app.connection_for_write(url=settings.CELERY_BROKER_URL,
                                      connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                   timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("readyz: the broker does not answer: %s", exc.__class__.__name__)
        return f"error: {exc.__class__.__name__}"
    return "ok"


def readyz(request: HttpRequest) -> HttpResponse:
    """Ready for traffic: the database answers, and the broker does (or is not used).
    503 naming the part that failed otherwise."""
    checks = {"database": database_check(), "broker": broker_check()}
    ready = all(not value.startswith("error") for value in checks.values())
    return _json({"status": "ok" if ready else "unavailable", "checks": checks},
                 status=200 if ready else 503)


PROBES: dict[str, Handler] = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answers GET/HEAD ``/healthz`` and ``/readyz`` before any other middleware runs."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            probe = PROBES.get(request.path_info.rstrip("/") or "/")
            if probe is not None:
                return probe(request)
        return self.get_response(request)
