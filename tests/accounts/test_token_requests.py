"""API requests with an API token pass the browser-session middleware by
(``accounts.token_requests``); browser sessions keep every guard they had."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from accounts.middleware import SESSION_OTP_ENROLLED_KEY
from accounts.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def plaintext(submitter) -> str:
    return api_token_create(actor=submitter, organisation_code="RR8", name="RIS")[1]


def signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_a_token_request_neither_reads_nor_saves_the_browser_session(submitter, plaintext):
    client = signed_in(submitter)
    key = client.cookies["sessionid"].value
    expiry = Session.objects.get(session_key=key).expire_date
    response = client.get("/api/submissions/", HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies  # saved and sent on every session request
    assert Session.objects.get(session_key=key).expire_date == expiry
    assert client.get("/api/submissions/").cookies["sessionid"].value == key  # the session's own


def test_a_token_response_keeps_the_headers_of_a_session_response(submitter, plaintext):
    by_token = APIClient().get("/api/submissions/", HTTP_AUTHORIZATION=f"Token {plaintext}")
    by_session = signed_in(submitter).get("/api/submissions/")
    assert by_token.status_code == by_session.status_code == 200
    assert by_token["Vary"] == by_session["Vary"]
    for name in ("Cache-Control", "Content-Security-Policy", "X-Frame-Options",
                 "X-Content-Type-Options", "Referrer-Policy", "Content-Type"):
        assert by_token.headers.get(name) == by_session.headers.get(name), name


def test_a_session_without_its_second_factor_is_refused_and_a_token_beside_it_is_not(
        submitter, plaintext):
    client = signed_in(submitter)
    session = client.session
    session[SESSION_OTP_ENROLLED_KEY] = True  # set one up: codes are needed from now on
    session.save()
    refused = client.get("/api/submissions/")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "second_factor_required"
    assert client.get("/api/submissions/", HTTP_AUTHORIZATION=f"Token {plaintext}").status_code == 200


def test_a_session_post_to_the_api_still_needs_its_csrf_token(submitter, plaintext):
    client = signed_in(submitter, csrf=True)
    refused = client.post("/api/checks/", {})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    by_token = client.post("/api/checks/", {}, HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert by_token.status_code == 400  # no file: the check's own answer, not the CSRF one


def test_a_token_header_on_a_page_leaves_the_session_and_its_csrf_check(submitter, plaintext):
    client = signed_in(submitter, csrf=True)
    header = {"HTTP_AUTHORIZATION": f"Token {plaintext}"}
    assert client.get("/provider/", **header).status_code == 200  # the session's user
    assert client.post("/sign-out/", **header).status_code == 403  # no CSRF token


def test_an_unknown_token_beside_a_session_is_a_401_not_the_session(submitter):
    response = signed_in(submitter).get("/api/submissions/", HTTP_AUTHORIZATION="Token dids_nope")
    assert response.status_code == 401
