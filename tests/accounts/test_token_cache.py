"""A verified API token is remembered for a few seconds per process, and no longer than that
after a revocation made elsewhere; at once after one made here."""

from __future__ import annotations

import copy

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import token_cache
from accounts.models import ApiToken, Membership, User
from accounts.services import api_token_create, api_token_revoke, api_token_verify

pytestmark = pytest.mark.django_db

URL = "/api/organisations/"


@pytest.fixture
def plaintext(submitter: User) -> str:
    token_cache.forget_all()
    return api_token_create(actor=submitter, organisation_code="RR8", name="Leeds RIS")[1]


def _status(plaintext: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client.get(URL).status_code


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    now = token_cache.time.monotonic()
    monkeypatch.setattr(token_cache.time, "monotonic", lambda: now + seconds)


def test_a_token_verified_a_moment_ago_is_answered_without_a_query(plaintext,
                                                                    django_assert_num_queries):
    first, _ = api_token_verify(plaintext)
    with django_assert_num_queries(0):
        again, refusal = api_token_verify(plaintext)
    assert again is not None and refusal == ""
    assert again.pk == first.pk and again.organisation_id == "RR8"


def test_each_request_gets_its_own_copy_of_a_remembered_token(plaintext):
    first, _ = api_token_verify(plaintext)
    second, _ = api_token_verify(plaintext)
    assert second is not first and second.user is not first.user


def test_a_wrong_token_is_never_answered_from_memory(plaintext, django_assert_num_queries):
    api_token_verify(plaintext)
    with django_assert_num_queries(1):
        token, _ = api_token_verify(plaintext[:-2] + "xx")
    assert token is None


def test_a_token_revoked_in_this_process_is_refused_at_once(plaintext, submitter):
    assert _status(plaintext) == 200
    api_token_revoke(actor=submitter, token=ApiToken.objects.get())
    assert _status(plaintext) == 401


def test_a_role_taken_away_in_this_process_stops_the_token_at_once(plaintext, submitter):
    assert _status(plaintext) == 200
    Membership.objects.filter(user=submitter).delete()
    assert _status(plaintext) == 401


def test_a_revocation_made_by_another_process_is_honoured_within_the_cache_seconds(
        plaintext, settings, monkeypatch):
    settings.DIDS_API_TOKEN_CACHE_SECONDS = 5
    assert _status(plaintext) == 200
    # Another process revokes: a write this process's signals do not see.
    ApiToken.objects.update(revoked_at=timezone.now())
    assert _status(plaintext) == 200  # remembered, for at most the cache's seconds
    _later(monkeypatch, 5)
    assert _status(plaintext) == 401


def test_with_the_cache_off_every_request_checks_the_database(plaintext, settings):
    settings.DIDS_API_TOKEN_CACHE_SECONDS = 0
    assert _status(plaintext) == 200
    ApiToken.objects.update(revoked_at=timezone.now())
    assert _status(plaintext) == 401


def test_a_recalled_token_is_a_copy_as_copy_makes_it(submitter):
    token, _ = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    token = ApiToken.objects.select_related("user").get(pk=token.pk)
    token_cache.remember("k" * 64, token)
    recalled = token_cache.recall("k" * 64)
    expected = copy.copy(token)
    assert recalled is not token and recalled.user is not token.user
    assert type(recalled) is ApiToken and recalled.pk == token.pk
    # (copy.copy also leaves the pickling protocol's "_django_version" behind.)
    skip = {"_state", "_django_version"}
    assert {k: v for k, v in vars(recalled).items() if k not in skip} == {
        k: v for k, v in vars(expected).items() if k not in skip}
    assert vars(recalled._state) | {"fields_cache": {}} == vars(expected._state) | {
        "fields_cache": {}}
    assert recalled._state is not token._state
    assert recalled._state.fields_cache is not token._state.fields_cache
    recalled.name = "changed"
    recalled.user.email = "changed@example.org"
    assert token.name == "RIS" and token.user.email != "changed@example.org"
