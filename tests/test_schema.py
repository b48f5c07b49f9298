"""The OpenAPI schema is part of the product: it generates cleanly and documents every endpoint."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from reference.api.urls import router

REFERENCE_PREFIXES = [prefix for prefix, _, _ in router.registry]
EFFECTIVE_DATED = ["organisations", "sites", "submitting-arrangements", "codes",
                   "snomed-concepts", "nicip-codes"]
TYPE_FILTERED = ["organisations", "sites", "snomed-concepts", "nicip-codes"]
SEARCHABLE = ["organisations", "sites", "code-lists", "codes", "snomed-concepts", "nicip-codes"]


@pytest.fixture(scope="module")
def generated():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = {**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache}
    GENERATOR_STATS.reset()
    return schema, problems


@pytest.fixture(scope="module")
def schema(generated):
    return generated[0]


def list_path(schema, prefix: str) -> dict:
    return schema["paths"][f"/api/{prefix}/"]


def detail_path(schema, prefix: str) -> dict:
    [path] = [p for p in schema["paths"] if p.startswith(f"/api/{prefix}/{{")]
    return schema["paths"][path]


def parameter_names(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", [])}


def test_schema_generates_without_warnings_or_errors(generated):
    _, problems = generated

    assert problems == {}


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)


@pytest.mark.parametrize("prefix", REFERENCE_PREFIXES)
def test_every_reference_endpoint_is_documented_as_a_list_and_a_detail(schema, prefix):
    assert "get" in list_path(schema, prefix)
    assert "get" in detail_path(schema, prefix)


@pytest.mark.parametrize("prefix", [p for p in REFERENCE_PREFIXES if p != "reference-releases"])
def test_writable_reference_endpoints_document_create_and_update_but_not_delete(schema, prefix):
    assert "post" in list_path(schema, prefix)
    assert {"put", "patch"} <= set(detail_path(schema, prefix))
    assert "delete" not in detail_path(schema, prefix)


def test_reference_releases_are_documented_as_read_only(schema):
    methods = set(list_path(schema, "reference-releases")) | set(
        detail_path(schema, "reference-releases"))

    assert methods - {"parameters"} == {"get"}


@pytest.mark.parametrize("prefix", EFFECTIVE_DATED)
def test_effective_dated_lists_document_the_valid_on_filter(schema, prefix):
    assert "valid_on" in parameter_names(list_path(schema, prefix)["get"])


@pytest.mark.parametrize("prefix", TYPE_FILTERED)
def test_typed_lists_document_the_type_filter(schema, prefix):
    assert "type" in parameter_names(list_path(schema, prefix)["get"])


@pytest.mark.parametrize("prefix", SEARCHABLE)
def test_searchable_lists_document_the_search_parameter(schema, prefix):
    assert "search" in parameter_names(list_path(schema, prefix)["get"])


def test_change_reason_is_documented_as_write_only(schema):
    components = schema["components"]["schemas"]

    assert "change_reason" in components["OrganisationRequest"]["properties"]
    assert "change_reason" not in components["Organisation"]["properties"]


def test_api_token_authentication_is_documented(schema):
    scheme = schema["components"]["securitySchemes"]["apiToken"]

    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


def test_schema_is_served(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/organisations/" in response.content


def test_api_docs_page_renders(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert "swagger" in response.content.decode().lower()
    # The start-up script is served from the page's own address (no inline script, for the CSP).
    script = client.get("/api/docs/?script=")
    assert "/api/schema/" in script.content.decode()


def test_api_docs_work_with_no_internet_from_the_portals_own_files(client):
    import re

    from django.contrib.staticfiles import finders

    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', html)
    assert any("swagger-ui-bundle.js" in a for a in assets), html
    assert any("swagger-ui.css" in a for a in assets), html
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not served by the portal"


def test_the_submission_schema_documents_plausibility_and_quality(schema):
    components = schema["components"]["schemas"]
    submission = components["Submission"]["properties"]
    assert {"plausibility", "quality", "quality_score"} <= set(submission)
    notice = components["PlausibilityNotice"]["properties"]
    assert {"modality", "site", "records", "median", "message"} <= set(notice)
    assert set(components["ItemQuality"]["properties"]) == {
        "label", "records", "present", "valid", "good", "share"}
