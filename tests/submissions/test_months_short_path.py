"""``/api/months/`` polled with a token the cache verified takes the short path
(``submissions.api.short_path``), as the status poll does: the same bytes and headers as DRF's
path, and every other request (another organisation's, a bad range, a revoked token, a
session, another Accept) keeps DRF's path and its answers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke
from submissions.api import cycle as cycle_api
from tests.submissions.test_provider_months import NOW, history, python_json

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'",
                                     reason="the short path is PostgreSQL's")
URLS = ("/api/months/", "/api/months/?organisation=RR8", "/api/months/?organisation=rr8%20",
        "/api/months/?organisation=RR8&start=2025-07&end=2026-08")
__all__ = ["history"]  # the fixture, used by name


@pytest.fixture
def token(submitter, monkeypatch) -> tuple[ApiToken, APIClient]:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    token, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    client.get("/api/submissions/")  # checked and remembered: the next polls take the short path
    return token, client


def drf_path_refused(monkeypatch) -> None:
    """DRF's path of the view fails: what still answers took the short path."""
    def refused(*args, **kwargs):
        raise AssertionError("DRF's path was taken")
    monkeypatch.setattr(cycle_api.ProviderMonthsView, "initial", refused)


@postgresql_only
@pytest.mark.parametrize("url", URLS)
def test_the_short_path_answers_with_drfs_headers_and_bytes(history, token, url, monkeypatch):
    drf = token[1].get(url, HTTP_ACCEPT="application/json; q=1")  # negotiated by DRF
    drf_path_refused(monkeypatch)
    for accept in ("", "*/*", "application/json"):
        short = token[1].get(url, HTTP_ACCEPT=accept)
        assert short.content == drf.content
        assert dict(short.headers) == dict(drf.headers)
    assert drf.status_code == 200 and drf.json()["organisation"] == "RR8"


@postgresql_only
def test_the_short_path_is_one_statement(history, token, django_assert_num_queries):
    token[1].get("/api/months/")  # the session prepares the statement the first time
    with django_assert_num_queries(1):
        response = token[1].get("/api/months/")
    assert response.content.decode() == f'{{"organisation":"RR8","months":{python_json("RR8")}}}'


@pytest.mark.parametrize("url", ["/api/months/?organisation=RCD", "/api/months/?organisation=RAJ",
                                 "/api/months/?organisation=NOPE"])
def test_another_organisations_months_are_still_a_404(history, token, url):
    response = token[1].get(url)
    assert response.status_code == 404
    assert b"RCD" not in response.content and b"RAJ" not in response.content


@pytest.mark.parametrize(("url", "code"), [
    ("/api/months/?start=2010-01&end=2026-04", "range_too_long"),
    ("/api/months/?start=2026-13", "invalid_month")])
def test_a_bad_range_is_still_drfs_400(token, url, code):
    response = token[1].get(url)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_a_revoked_token_is_refused_at_once(history, submitter, token):
    assert token[1].get("/api/months/").status_code == 200
    api_token_revoke(actor=submitter, token=token[0])
    assert token[1].get("/api/months/").status_code == 401


def test_a_token_not_yet_verified_or_no_credentials_take_drfs_path(history, submitter):
    _, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="New")
    client = APIClient()
    assert client.get("/api/months/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}x")
    assert client.get("/api/months/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")  # first use: DRF checks it
    assert client.get("/api/months/").json()["organisation"] == "RR8"


@postgresql_only
def test_another_accept_or_method_takes_drfs_path(history, token, monkeypatch):
    assert token[1].get("/api/months/", HTTP_ACCEPT="text/html").status_code == 406
    drf_path_refused(monkeypatch)
    for accept in ("application/json; indent=2", "text/html", "application/xml"):
        with pytest.raises(AssertionError, match="DRF's path"):
            token[1].get("/api/months/", HTTP_ACCEPT=accept)
    for method in (token[1].head, token[1].post, token[1].options):
        with pytest.raises(AssertionError, match="DRF's path"):
            method("/api/months/")


def test_months_python_does_not_write_take_drfs_path(history, token, monkeypatch):
    """Where the statement leaves the months to Python (SQLite, a quality rounded otherwise),
    the answer is DRF's path's Python one."""
    monkeypatch.setattr(cycle_api, "provider_months_json", lambda **_: None)
    response = token[1].get("/api/months/")
    assert response.content.decode() == f'{{"organisation":"RR8","months":{python_json("RR8")}}}'
    assert connection.vendor in ("postgresql", "sqlite")


def test_json_asked_for_indented_is_indented_as_drf_writes_it(history, token):
    response = token[1].get("/api/months/", HTTP_ACCEPT="application/json; indent=2")
    assert response.status_code == 200
    assert response.content.decode().startswith('{\n  "organisation": "RR8",\n  "months": [')
    assert response.json() == token[1].get("/api/months/").json()
