"""The load balancer's probes: /healthz (the process) and /readyz (database and broker)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from dids_portal.lib import health


def test_healthz_answers_ok_without_the_database() -> None:
    # No django_db mark: any database access here would raise.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_sets_no_cookie_and_is_not_cached() -> None:
    response = Client().get("/healthz")
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"


def test_healthz_reads_nothing_of_the_query_so_a_nul_byte_there_is_no_error() -> None:
    # Answered before the malformed-request middleware: it reads neither query nor body.
    assert Client().get("/healthz?month=RR%008").status_code == 200


@override_settings(ALLOWED_HOSTS=["dids.example.nhs.uk"], SECURE_SSL_REDIRECT=True)
def test_healthz_answers_a_probe_by_address_over_plain_http() -> None:
    # A load balancer probes each backend by its address, before TLS: no redirect, no 400.
    response = Client().get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert response.status_code == 200


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="", CELERY_TASK_ALWAYS_EAGER=True)
def test_readyz_says_the_broker_is_not_used_when_tasks_run_eagerly() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok",
                               "checks": {"database": "ok", "broker": "not used"}}


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_it_does_not_answer(monkeypatch) -> None:
    class Broken:
        def cursor(self):  # type: ignore[no-untyped-def]
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", Broken())
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "error: OperationalError"


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_TASK_ALWAYS_EAGER=False)
def test_readyz_is_503_naming_the_broker_when_it_does_not_answer() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "error: OperationalError"}


@pytest.mark.worker
@pytest.mark.django_db
def test_readyz_is_ok_with_the_configured_broker(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}
