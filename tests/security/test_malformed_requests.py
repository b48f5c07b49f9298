"""Malformed values never reach a view as a 500: every route and query parameter of the API
schema, and every page, is sent NUL bytes, over-long integers, non-numeric ids and bad dates.
The API answers in its JSON error shape, pages with the 400 page."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator

from tests.submissions.conftest import MONTH

pytestmark = pytest.mark.django_db

NUL = "RR\x008"
BAD_VALUES = {
    "nul": NUL,
    "over-long integer": "9" * 30,
    "non-numeric": "abc",
    "bad date": "2026-02-31",
    "time offset PostgreSQL refuses": "0254-01-31T04:52:18-20:42",
    "time before year 1 in UTC": "0001-01-01T00:00:00+05:00",
    "negative": "-1",
}
# A value each path parameter could really take, so that only the one under test is bad.
GOOD_PATH_VALUES = {"id": "1", "pk": "1", "code": "RR8", "name": "person_gender",
                    "concept_id": "399208008", "month": f"{MONTH:%Y-%m}", "kind": "provisional"}
# The query parameters pages read (the API's come from its schema).
PAGE_PARAMETERS = ["month", "start", "end", "region", "type", "organisation", "page", "from",
                   "to", "next", "kind", "against"]
REFERENCE_PREFIXES = ("/api/organisations", "/api/sites", "/api/submitting-arrangements",
                      "/api/code-lists", "/api/codes", "/api/snomed-concepts", "/api/nicip-codes")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, method, operation) for path, item in schema["paths"].items()
            for method, operation in item.items()
            if method in {"get", "post", "put", "patch", "delete"}]


def _cases() -> list[Any]:
    cases = []
    for path, method, operation in _operations():
        parameters = operation.get("parameters", [])
        names = [p["name"] for p in parameters if p["in"] == "path"]
        good = {name: GOOD_PATH_VALUES.get(name, "1") for name in names}
        # Writes to reference data as the one who may make them, all else as an analyst.
        persona = ("reference_admin" if method != "get" and path.startswith(REFERENCE_PREFIXES)
                   else "analyst")
        for name in names:
            for label, value in BAD_VALUES.items():
                url = path.format(**{**good, name: quote(value, safe="")})
                cases.append(pytest.param(persona, method, url,
                                          id=f"{method} {path} {name}={label}"))
        if method != "get":
            continue
        for parameter in parameters:
            if parameter["in"] != "query":
                continue
            for label, value in BAD_VALUES.items():
                url = f"{path.format(**good)}?{urlencode({parameter['name']: value})}"
                cases.append(pytest.param(persona, method, url,
                                          id=f"get {path} ?{parameter['name']}={label}"))
    return cases


# The load balancer's probes are answered before any other middleware and read nothing of the
# request (tests/test_health.py): a query string cannot reach them, so they are no page here.
PROBES = {"/healthz", "/readyz"}


def _page_urls() -> list[str]:
    """Every page of the site (not the admin, the API or the probes), with placeholder
    arguments."""
    urls = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                urls.append("/" + re.sub(
                    r"<(?:(\w+):)?(\w+)>",
                    lambda m: "1" if m.group(1) == "int" else f"{MONTH:%Y-%m}", route))

    walk([p for p in get_resolver().url_patterns
          if not str(p.pattern).startswith(("admin/", "api/"))], "")
    return sorted(set(urls) - PROBES)


def _error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.fixture
def national_client(api_client_for, analyst):  # type: ignore[no-untyped-def]
    client = api_client_for(analyst)
    client.raise_request_exception = False
    return client


def test_the_walk_covers_the_routes_the_outside_probe_found(sample_reference) -> None:
    ids = {case.id for case in _cases()}
    for expected in ("get /api/organisations/ ?limit=over-long integer",
                     "get /api/reference-releases/ ?limit=over-long integer",
                     "get /api/organisations/{code}/ code=nul",
                     "get /api/snomed-concepts/{concept_id}/ concept_id=nul",
                     "get /api/compliance/ ?region=nul", "get /api/compliance.csv ?region=nul",
                     "get /api/months/ ?organisation=nul"):
        assert expected in ids
    assert "/national/audit/" in _page_urls()


def _answers(client: Any, method: str, url: str) -> Any:
    """One request in a savepoint rolled back after it, so that a database error in one (a
    failure to report) does not abort the transaction of the rest of the walk."""
    sid = transaction.savepoint()
    try:
        return getattr(client, method)(url, {}, format="json")
    finally:
        transaction.savepoint_rollback(sid)


def _json_error_problem(response: Any) -> str:
    if not response["Content-Type"].startswith("application/json"):
        return f"answers {response['Content-Type']}"
    body = response.json()
    if set(body) != {"error"} or set(body["error"]) != {"code", "message", "details"}:
        return f"answers {body}"
    return ""


def test_a_malformed_value_in_any_api_route_or_query_parameter_is_a_4xx_in_the_json_shape(
        api_client_for, analyst, reference_admin) -> None:  # type: ignore[no-untyped-def]
    clients = {"analyst": api_client_for(analyst),
               "reference_admin": api_client_for(reference_admin)}
    for client in clients.values():
        client.raise_request_exception = False
    problems = []
    cases = _cases()
    for case in cases:
        persona, method, url = case.values
        response = _answers(clients[persona], method, url)
        if response.status_code >= 500:
            problems.append(f"{case.id}: {response.status_code}")
        elif response.status_code >= 400 and (problem := _json_error_problem(response)):
            problems.append(f"{case.id}: {response.status_code} {problem}")
        elif "%00" in url and response.status_code != 400:
            problems.append(f"{case.id}: {response.status_code}, not 400")
    assert len(cases) > 300
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("name", "value"), [("limit", "9" * 21), ("limit", "abc"),
                                             ("limit", "0"), ("offset", "9" * 21),
                                             ("offset", "-1")])
def test_a_malformed_limit_or_offset_is_a_400_naming_the_parameter(
        name: str, value: str, national_client) -> None:  # type: ignore[no-untyped-def]
    response = national_client.get("/api/organisations/", {name: value})

    assert response.status_code == 400
    assert list(_error_of(response)["details"]) == [name]


def test_a_limit_within_range_still_pages(national_client) -> None:  # type: ignore[no-untyped-def]
    response = national_client.get("/api/organisations/", {"limit": "2", "offset": "1"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_a_forged_cursor_is_a_400_naming_the_cursor(national_client) -> None:  # type: ignore[no-untyped-def]
    import base64

    for position in ("abc", "1\x00"):
        cursor = base64.b64encode(f"p={position}".encode()).decode()
        response = national_client.get("/api/audit-events/", {"cursor": cursor})

        assert response.status_code == 400, position
        assert list(_error_of(response)["details"]) == ["cursor"]


def test_a_nul_byte_in_a_header_or_cookie_is_a_400(national_client) -> None:  # type: ignore[no-untyped-def]
    response = national_client.get("/api/organisations/", HTTP_X_THING="a\x00b")
    assert response.status_code == 400
    national_client.cookies["sessionid"] = "abc\x00def"
    response = national_client.get("/api/organisations/")
    assert response.status_code == 400
    assert _error_of(response)["code"] == "bad_request"


def test_a_nul_byte_in_any_page_address_or_query_is_the_400_page(client: Client,
                                                                 analyst) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    client.raise_request_exception = False
    month = f"{MONTH:%Y-%m}"
    problems = []
    for url in _page_urls():
        bad = [f"{url}?{urlencode({name: NUL for name in PAGE_PARAMETERS})}"]
        if month in url:
            bad.append(url.replace(month, quote(NUL)))
        for address in bad:
            response = _answers(client, "get", address)
            if (response.status_code != 400 or not response["Content-Type"].startswith("text/html")
                    or "There is a problem with the request" not in response.content.decode()):
                problems.append(f"{address}: {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("persona", ["analyst", "submitter"])
def test_any_other_malformed_value_on_a_page_is_never_a_server_error(
        persona: str, client: Client, request) -> None:  # type: ignore[no-untyped-def]
    client.force_login(request.getfixturevalue(persona))
    client.raise_request_exception = False
    problems = []
    for url in _page_urls():
        for label, value in BAD_VALUES.items():
            if label == "nul":
                continue
            query = urlencode({name: value for name in PAGE_PARAMETERS})
            for path in {url, url.replace("/1/", f"/{quote(value)}/"),
                         url.replace(f"{MONTH:%Y-%m}", quote(value))}:
                response = _answers(client, "get", f"{path}?{query}")
                if response.status_code >= 500:
                    problems.append(f"{path}?{query}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_a_domain_error_that_escapes_a_page_view_is_its_status_with_the_400_page(
        client: Client, submitter, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from dids_portal.lib.errors import DomainError
    from submissions.views import provider

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise DomainError("The month 9434765919 is not open.", code="month_locked",
                          status_code=409)

    monkeypatch.setattr(provider, "provider_months", refuse)
    client.force_login(submitter)
    client.raise_request_exception = False

    response = client.get("/submissions/")

    assert response.status_code == 409
    body = response.content.decode()
    assert "There is a problem with the request" in body
    assert "is not open" in body and "9434765919" not in body
