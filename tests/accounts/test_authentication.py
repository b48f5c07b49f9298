import pytest
from rest_framework.test import APIClient, APIRequestFactory

from accounts.authentication import ApiTokenAuthentication
from accounts.choices import Role
from accounts.models import Membership
from accounts.selectors import can_submit_for, provider_organisation_codes
from accounts.services import api_token_create, api_token_revoke, membership_grant

URL = "/api/organisations/"


@pytest.fixture
def plaintext(submitter):
    return api_token_create(actor=submitter, organisation_code="RR8", name="Leeds RIS")[1]


def _client(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def test_token_header_authenticates_a_request(plaintext):
    response = _client(f"Token {plaintext}").get(URL)

    assert response.status_code == 200


def test_bearer_keyword_is_accepted_too(plaintext):
    response = _client(f"Bearer {plaintext}").get(URL)

    assert response.status_code == 200


def test_token_request_acts_as_the_token_user_with_the_token_as_auth(submitter, plaintext):
    request = APIRequestFactory().get(URL, HTTP_AUTHORIZATION=f"Token {plaintext}")

    user, token = ApiTokenAuthentication().authenticate(request)

    assert user == submitter
    assert token.organisation_id == "RR8"


def test_request_without_an_authorization_header_is_left_to_other_authenticators():
    assert ApiTokenAuthentication().authenticate(APIRequestFactory().get(URL)) is None


def test_unknown_token_gets_401_with_the_json_error_shape(sample_reference):
    response = _client("Token dids_00000000_not-a-real-secret").get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "The API token is not valid, expired or revoked.",
            "details": None,
        }
    }


def test_authorization_header_with_spaces_in_the_key_gets_401(plaintext):
    response = _client(f"Token {plaintext} extra").get(URL)

    assert response.status_code == 401
    assert "Token <key>" in response.json()["error"]["message"]


def test_revoked_token_gets_401(submitter, plaintext):
    token = submitter.api_tokens.get()
    api_token_revoke(actor=submitter, token=token)

    response = _client(f"Token {plaintext}").get(URL)

    assert response.status_code == 401


def test_token_gets_401_once_its_user_loses_the_submitter_membership(submitter, plaintext):
    Membership.objects.filter(user=submitter, role=Role.PROVIDER_SUBMITTER).delete()

    response = _client(f"Token {plaintext}").get(URL)

    assert response.status_code == 401


def test_token_acts_for_its_one_organisation_even_when_its_user_submits_for_two(
    submitter, other_org, plaintext
):
    membership_grant(actor=None, user=submitter, role=Role.PROVIDER_SUBMITTER,
                     organisation_code="RCD", reason="Bureau work")
    token = submitter.api_tokens.get()

    assert provider_organisation_codes(submitter, token=token) == {"RR8"}
    assert can_submit_for(submitter, "RR8", token=token)
    assert not can_submit_for(submitter, "RCD", token=token)


def test_revoked_token_acts_for_no_organisation(submitter, plaintext):
    token = api_token_revoke(actor=submitter, token=submitter.api_tokens.get())

    assert provider_organisation_codes(submitter, token=token) == set()
