"""The security headers of every response: patient data is never cached (``no-store,
private``), and every page has a Content-Security-Policy of the site's own files with no inline
script or style, the admin and the API docs included."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from reference.loaders import SAMPLE_DIR
from submissions.cycle.services import period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.engine import ReferenceSnapshot, generate_file
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = pytest.mark.django_db

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
               "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
               "form-action 'self'; frame-ancestors 'none'")


def _body(response: Any) -> bytes:
    return (b"".join(response.streaming_content) if getattr(response, "streaming", False)
            else response.content)


def _assert_not_cached(response: Any, what: str) -> None:
    assert response.status_code == 200, (what, response.status_code)
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control, (what, response["Cache-Control"])
    assert "public" not in cache_control


@pytest.fixture
def submission(submitter, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "june.csv"
    generate_file(path, rows=5, org="RR8", month=MONTH, dataset_version="2.0",
                  reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), error_rate=0.5, seed=3)
    return submit_at(submitter, path, AS_OF)


def test_submission_pages_and_downloads_are_never_cached(client: Client, submitter,
                                                         submission) -> None:  # type: ignore[no-untyped-def]
    client.force_login(submitter)
    for url in ("/submissions/", "/submissions/upload/", f"/submissions/{submission.pk}/",
                f"/submissions/{MONTH:%Y-%m}/", f"/submissions/{submission.pk}/findings.csv",
                f"/submissions/{submission.pk}/annotated.csv", "/provider/"):
        response = client.get(url)
        _body(response)
        _assert_not_cached(response, url)


def test_the_submission_api_and_its_downloads_are_never_cached(api_client_for, submitter,
                                                               submission) -> None:  # type: ignore[no-untyped-def]
    client = api_client_for(submitter)
    for url in ("/api/submissions/", f"/api/submissions/{submission.pk}/",
                f"/api/submissions/{submission.pk}/findings/",
                f"/api/submissions/{submission.pk}/findings.csv",
                f"/api/submissions/{submission.pk}/annotated.csv", "/api/months/"):
        response = client.get(url)
        _body(response)
        _assert_not_cached(response, url)


def test_extracts_and_the_audit_export_are_never_cached(api_client_for, analyst, submission,
                                                        settings,
                                                        django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    settings.DIDS_PSEUDONYM_KEY = "k"
    period_cut_off(actor=None, month=MONTH, kind="provisional",
                   now=default_deadlines(MONTH).provisional + timedelta(minutes=1))
    client = api_client_for(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        pk = client.post("/api/cutoffs/2026-06/provisional/extracts/", {"format": "csv"},
                         format="json").json()["id"]
    for url in (f"/api/extracts/{pk}/download/", "/api/audit-events/export.csv",
                "/api/audit-events/"):
        response = client.get(url)
        _body(response)
        _assert_not_cached(response, url)


def test_error_answers_are_never_cached_either(client: Client, sample_reference) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/organisations/%00/")

    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store, private"
    assert response["Content-Security-Policy"] == PAGE_POLICY


def test_static_files_keep_their_caching_and_carry_no_policy(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True

    response = Client().get("/static/css/portal.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Content-Security-Policy" not in response


def _inline_code(html: str) -> list[str]:
    """Inline script (a <script> without src, an on...= handler) and inline style."""
    found = [m.group(0)[:80] for m in re.finditer(r"<script\b(?![^>]*\bsrc=)[^>]*>", html)]
    found += [m.group(0)[:80] for m in re.finditer(r"<[^>]+\s(?:on[a-z]+|style)=", html)]
    found += [m.group(0) for m in re.finditer(r"<style\b", html)]
    return found


@pytest.mark.parametrize(("persona", "url"), [
    (None, "/sign-in/"),
    ("submitter", "/provider/"),
    ("submitter", "/submissions/"),
    ("submitter", "/submissions/upload/"),
    ("submitter", "/provider/api-tokens/"),
    ("analyst", "/national/"),
    ("analyst", "/national/compliance/"),
    ("analyst", "/national/quality/"),
    ("analyst", "/national/statistics/"),
    ("analyst", "/national/audit/"),
    ("reference_admin", "/admin/"),
    ("reference_admin", "/admin/reference/organisation/"),
    ("reference_admin", "/admin/reference/organisation/RR8/change/"),
    ("reference_admin", "/admin/reference/organisation/RR8/history/"),
    ("reference_admin", "/admin/reference/organisation/import/"),
    ("reference_admin", "/admin/reference/organisation/export/"),
])
def test_every_page_has_the_policy_and_no_inline_script_or_style(
        persona: str | None, url: str, client: Client, request, sample_reference) -> None:  # type: ignore[no-untyped-def]
    if persona:
        client.force_login(request.getfixturevalue(persona))

    response = client.get(url)

    assert response.status_code == 200, url
    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert not _inline_code(response.content.decode()), url


def test_the_submission_page_has_no_inline_script_or_style(client: Client, submitter,
                                                            submission) -> None:  # type: ignore[no-untyped-def]
    client.force_login(submitter)
    response = client.get(f"/submissions/{submission.pk}/")

    assert response["Content-Security-Policy"] == PAGE_POLICY
    assert not _inline_code(response.content.decode())


def test_the_api_docs_load_their_start_up_script_from_their_own_address(
        client: Client, submitter) -> None:  # type: ignore[no-untyped-def]
    client.force_login(submitter)
    page = client.get("/api/docs/")
    html = page.content.decode()

    assert not _inline_code(html)
    script = re.search(r'<script src="([^"]*script=[^"]*)"', html)
    assert script, html
    init = client.get(script.group(1).replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init.content


def test_the_api_docs_policy_adds_no_other_origin_and_nothing_inline(
        client: Client, submitter) -> None:  # type: ignore[no-untyped-def]
    from drf_spectacular.settings import spectacular_settings

    client.force_login(submitter)
    policy = client.get("/api/docs/")["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in policy.split("; "))

    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    # Swagger UI is served by the portal itself (drf-spectacular-sidecar): no other origin.
    assert spectacular_settings.SWAGGER_UI_DIST == "SIDECAR"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
