"""The reference API: who may read and write, history, filters, errors and query counts."""

import datetime

import pytest
from rest_framework.test import APIClient

from accounts.services import api_token_create, membership_grant
from reference.models import Code, Organisation, Site, SnomedConcept, SubmittingArrangement
from tests.reference.factories import CodeFactory, CodeListFactory

LIST_URLS = [
    "/api/organisations/",
    "/api/sites/",
    "/api/submitting-arrangements/",
    "/api/code-lists/",
    "/api/codes/",
    "/api/snomed-concepts/",
    "/api/nicip-codes/",
    "/api/reference-releases/",
]
NEW_ROWS = {
    "/api/organisations/": {"code": "RZZ", "name": "New Test NHS Trust", "type": "nhs_trust"},
    "/api/sites/": {"code": "RR8A1", "name": "Leeds Imaging Centre", "organisation": "RR8"},
    "/api/submitting-arrangements/": {"submitter": "RJ1", "organisation": "RXH",
                                      "valid_from": "2025-04-01"},
    "/api/code-lists/": {"name": "test_list", "title": "Test list"},
    "/api/codes/": {"list": "person_gender", "code": "X", "description": "Test gender"},
    "/api/snomed-concepts/": {"concept_id": "123456", "description": "Test scan",
                              "modality": "CT"},
    "/api/nicip-codes/": {"code": "XZZZZ", "description": "XR Test", "modality": "XRAY",
                          "snomed": "399208008"},
}
WRITE_URLS = list(NEW_ROWS)
SIGNED_IN = ["submitter", "colleague", "other_provider_user", "analyst", "reference_admin"]
NOT_REFERENCE_ADMINS = ["submitter", "colleague", "other_provider_user", "analyst"]


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def as_persona(request, api_client_for):
    def make(name: str) -> APIClient:
        return api_client_for(request.getfixturevalue(name))

    return make


@pytest.fixture
def admin_api(reference_admin, api_client_for):
    return api_client_for(reference_admin)


@pytest.fixture
def reader(submitter, api_client_for):
    return api_client_for(submitter)


def codes_of(response, key: str = "code") -> set[str]:
    return {row[key] for row in response.json()["results"]}


# Who may read


@pytest.mark.parametrize("url", LIST_URLS)
def test_anonymous_request_gets_401_with_the_json_error_shape(url, sample_reference):
    response = APIClient().get(url)

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("url", LIST_URLS)
@pytest.mark.parametrize("persona", SIGNED_IN)
def test_every_signed_in_persona_reads_every_endpoint(persona, url, as_persona):
    response = as_persona(persona).get(url)

    assert response.status_code == 200
    assert response.json()["count"] > 0


def test_anonymous_request_cannot_write(sample_reference):
    response = APIClient().post("/api/organisations/", NEW_ROWS["/api/organisations/"],
                                format="json")

    assert response.status_code == 401
    assert not Organisation.objects.filter(code="RZZ").exists()


def test_detail_is_read_by_its_code(reader):
    response = reader.get("/api/organisations/RR8/")

    assert response.status_code == 200
    assert response.json()["name"] == "Leeds Teaching Hospitals NHS Trust"


def test_unknown_detail_gets_404_with_the_json_error_shape(reader):
    response = reader.get("/api/organisations/RZZ/")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_change_reason_is_not_shown_when_reading(reader):
    response = reader.get("/api/organisations/RR8/")

    assert "change_reason" not in response.json()


# Who may write


@pytest.mark.parametrize("url", WRITE_URLS)
def test_reference_admin_creates_rows(url, admin_api):
    response = admin_api.post(url, {**NEW_ROWS[url], "change_reason": "Test"}, format="json")

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("url", WRITE_URLS)
@pytest.mark.parametrize("persona", NOT_REFERENCE_ADMINS)
def test_other_personas_get_403_on_create(persona, url, as_persona):
    response = as_persona(persona).post(url, NEW_ROWS[url], format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_reference_admin_updates_a_row(admin_api):
    response = admin_api.patch("/api/sites/RR813/", {"name": "Leeds General"}, format="json")

    assert response.status_code == 200
    assert Site.objects.get(code="RR813").name == "Leeds General"


@pytest.mark.parametrize("persona", NOT_REFERENCE_ADMINS)
def test_other_personas_get_403_on_update(persona, as_persona):
    response = as_persona(persona).patch("/api/sites/RR813/", {"name": "Leeds General"},
                                         format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert Site.objects.get(code="RR813").name == "Leeds General Infirmary"


def test_reference_admin_replaces_a_row_with_put(admin_api):
    response = admin_api.put("/api/code-lists/person_gender/",
                             {"name": "person_gender", "title": "Person gender code current"},
                             format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Person gender code current"


def _writable_reference_endpoints() -> list[tuple[str, type]]:
    """Every reference endpoint that takes PATCH, from the router itself."""
    from reference.api.urls import router

    return [(prefix, viewset.queryset.model) for prefix, viewset, _ in router.registry
            if hasattr(viewset, "partial_update")]


def test_every_writable_reference_endpoint_is_walked_by_the_key_tests():
    assert {prefix for prefix, _ in _writable_reference_endpoints()} == {
        url.strip("/").removeprefix("api/") for url in WRITE_URLS}


@pytest.mark.parametrize(("prefix", "model"), _writable_reference_endpoints())
@pytest.mark.parametrize("method", ["patch", "put"])
def test_changing_the_primary_key_is_a_400_naming_the_field_and_creates_nothing(
        prefix, model, method, admin_api):
    row = model.objects.order_by("pk").first()
    key = model._meta.pk.name
    before = model.objects.count()
    url = f"/api/{prefix}/{row.pk}/"
    body = {**admin_api.get(url).json(), key: "ZZZ99" if key != "id" else row.pk + 1000}

    response = getattr(admin_api, method)(url, body, format="json")

    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == [key]
    assert "cannot be changed" in error["details"][key][0]
    assert model.objects.count() == before
    assert not model.objects.filter(pk="ZZZ99" if key != "id" else row.pk + 1000).exists()


def test_the_same_primary_key_sent_back_on_update_is_accepted(admin_api):
    response = admin_api.patch("/api/organisations/RR8/", {"code": "RR8", "name": "Renamed"},
                               format="json")

    assert response.status_code == 200
    assert Organisation.objects.get(code="RR8").name == "Renamed"


def test_delete_is_not_allowed_even_for_a_reference_admin(admin_api):
    response = admin_api.delete("/api/sites/RR813/")

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert Site.objects.filter(code="RR813").exists()


def test_reference_releases_are_read_only_even_for_a_reference_admin(admin_api):
    response = admin_api.post("/api/reference-releases/", {"label": "Mine"}, format="json")

    assert response.status_code == 405


# API tokens read but never write


@pytest.fixture
def token_client(submitter):
    """A token whose user is both an RR8 submitter and a reference admin."""
    membership_grant(actor=None, user=submitter, role="reference_admin", organisation_code=None,
                     reason="Also maintains reference data")
    _, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="Leeds RIS")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client


def test_token_authenticated_request_reads(token_client):
    assert token_client.get("/api/codes/").status_code == 200


def test_token_authenticated_request_cannot_write_even_for_a_reference_admin(token_client):
    response = token_client.post("/api/organisations/", NEW_ROWS["/api/organisations/"],
                                 format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert not Organisation.objects.filter(code="RZZ").exists()


def test_token_authenticated_request_cannot_update(token_client):
    response = token_client.patch("/api/sites/RR813/", {"name": "Leeds General"}, format="json")

    assert response.status_code == 403


# History and validation


def test_create_records_the_user_and_the_change_reason_in_history(admin_api, reference_admin):
    admin_api.post("/api/organisations/",
                   {**NEW_ROWS["/api/organisations/"], "change_reason": "New trust from April"},
                   format="json")

    record = Organisation.objects.get(code="RZZ").history.get()
    assert record.history_user == reference_admin
    assert record.history_change_reason == "New trust from April"


def test_update_records_the_user_and_the_change_reason_in_history(admin_api, reference_admin):
    admin_api.patch("/api/sites/RR813/", {"closed": "2030-03-31", "change_reason": "Closing"},
                    format="json")

    latest = Site.objects.get(code="RR813").history.first()
    assert latest.closed == datetime.date(2030, 3, 31)
    assert (latest.history_user, latest.history_change_reason) == (reference_admin, "Closing")


def test_write_without_a_change_reason_says_it_came_through_the_api(admin_api):
    admin_api.patch("/api/sites/RR813/", {"name": "Leeds General"}, format="json")

    latest = Site.objects.get(code="RR813").history.first()
    assert latest.history_change_reason == "Changed through the API"


def test_create_runs_model_validation_and_answers_in_the_json_error_shape(admin_api):
    response = admin_api.post(
        "/api/organisations/",
        {**NEW_ROWS["/api/organisations/"], "opened": "2020-04-01", "closed": "2020-01-01"},
        format="json",
    )

    error = error_of(response)
    assert response.status_code == 400
    assert error["code"] == "validation_error"
    assert "closed must not be before opened." in str(error["details"])
    assert not Organisation.objects.filter(code="RZZ").exists()


def test_update_runs_model_validation_without_changing_the_row(admin_api):
    response = admin_api.patch("/api/organisations/RR8/", {"closed": "1990-01-01"},
                               format="json")

    assert response.status_code == 400
    assert Organisation.objects.get(code="RR8").closed is None


def test_create_of_a_duplicate_key_is_a_validation_error(admin_api):
    response = admin_api.post("/api/sites/", {"code": "RR813", "name": "Again",
                                              "organisation": "RR8"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_create_of_an_arrangement_for_itself_is_a_validation_error(admin_api):
    response = admin_api.post("/api/submitting-arrangements/",
                              {"submitter": "RR8", "organisation": "RR8"}, format="json")

    assert response.status_code == 400
    assert "An organisation always submits for itself." in str(error_of(response)["details"])
    assert not SubmittingArrangement.objects.filter(submitter="RR8", organisation="RR8").exists()


# ?valid_on=


@pytest.fixture
def quarter_code(sample_reference):
    return CodeFactory(code_list=CodeListFactory(name="quarterly"), code="Q1",
                       valid_from=datetime.date(2024, 4, 1), valid_to=datetime.date(2024, 6, 30))


@pytest.mark.parametrize(("day", "listed"), [
    ("2024-03-31", False), ("2024-04-01", True), ("2024-06-30", True), ("2024-07-01", False),
])
def test_valid_on_includes_both_boundary_days_of_a_code(day, listed, reader, quarter_code):
    response = reader.get("/api/codes/", {"list": "quarterly", "valid_on": day})

    assert ("Q1" in codes_of(response)) is listed


def test_valid_on_keeps_an_organisation_on_its_closing_day(reader):
    assert "RDD" in codes_of(reader.get("/api/organisations/", {"valid_on": "2020-03-31"}))


def test_valid_on_drops_an_organisation_the_day_after_it_closed(reader):
    assert "RDD" not in codes_of(reader.get("/api/organisations/", {"valid_on": "2020-04-01"}))


def test_valid_on_drops_a_site_the_day_after_it_closed(reader):
    response = reader.get("/api/sites/", {"valid_on": "2008-04-01", "limit": 1000})

    assert "RR812" not in codes_of(response)
    assert "RR813" in codes_of(response)


def test_valid_on_filters_nicip_codes(reader):
    before = reader.get("/api/nicip-codes/", {"valid_on": "2012-03-31"}).json()["count"]
    after = reader.get("/api/nicip-codes/", {"valid_on": "2012-04-01"}).json()["count"]

    assert before < after


def test_valid_on_that_is_not_a_date_is_a_validation_error(reader):
    response = reader.get("/api/codes/", {"valid_on": "2024-13-01"})

    assert response.status_code == 400
    assert "valid_on" in error_of(response)["details"]


# ?type= and other filters


def test_type_filters_organisations_by_type(reader):
    response = reader.get("/api/organisations/", {"type": "gp_practice", "limit": 1000})

    assert {row["type"] for row in response.json()["results"]} == {"gp_practice"}
    assert response.json()["count"] == Organisation.objects.filter(type="gp_practice").count()


def test_type_may_be_given_more_than_once(reader):
    response = reader.get("/api/organisations/?type=nhs_trust&type=foundation_trust&limit=1000")

    assert {row["type"] for row in response.json()["results"]} == {"nhs_trust", "foundation_trust"}


def test_type_filters_sites_by_the_type_of_their_organisation(reader):
    response = reader.get("/api/sites/", {"type": "nhs_trust", "limit": 1000})

    expected = set(Site.objects.filter(organisation__type="nhs_trust").values_list("code", flat=True))
    assert "RR813" in expected
    assert codes_of(response) == expected


def test_type_filters_snomed_concepts_by_modality(reader):
    response = reader.get("/api/snomed-concepts/", {"type": "CT", "limit": 1000})

    assert {row["modality"] for row in response.json()["results"]} == {"CT"}
    assert response.json()["count"] == SnomedConcept.objects.filter(modality="CT").count()


def test_type_filters_nicip_codes_by_modality(reader):
    response = reader.get("/api/nicip-codes/", {"type": "MRI", "limit": 1000})

    assert {row["modality"] for row in response.json()["results"]} == {"MRI"}


def test_unknown_type_is_a_validation_error(reader):
    response = reader.get("/api/organisations/", {"type": "hospital"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_list_filters_codes_by_their_code_list(reader):
    response = reader.get("/api/codes/", {"list": "person_gender"})

    assert {row["list"] for row in response.json()["results"]} == {"person_gender"}
    assert response.json()["count"] == Code.objects.filter(code_list="person_gender").count()


def test_search_finds_organisations_by_name(reader):
    assert codes_of(reader.get("/api/organisations/", {"search": "harrogate and district"})) == {
        "RCD"
    }


def test_search_finds_organisations_by_code(reader):
    assert "RR8" in codes_of(reader.get("/api/organisations/", {"search": "RR8"}))


def test_search_finds_sites_by_name(reader):
    assert "RR813" in codes_of(reader.get("/api/sites/", {"search": "General Infirmary"}))


def test_search_finds_snomed_concepts_by_description(reader):
    response = reader.get("/api/snomed-concepts/", {"search": "X-ray of chest"})

    assert "399208008" in codes_of(response, key="concept_id")


def test_filters_combine(reader):
    response = reader.get("/api/organisations/",
                          {"type": "foundation_trust", "search": "Harrogate",
                           "valid_on": "2024-01-01"})

    assert codes_of(response) == {"RCD"}


# Query counts


@pytest.mark.parametrize("url", LIST_URLS)
def test_list_endpoint_query_count_does_not_grow_with_rows(url, reader,
                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = reader.get(url, {"limit": 1000})

    assert response.status_code == 200


def test_token_authenticated_list_query_count_is_pinned(token_client,
                                                        django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        response = token_client.get("/api/sites/", {"limit": 1000})

    assert response.status_code == 200
