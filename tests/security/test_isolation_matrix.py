"""The isolation matrix: every URL pattern and API route, walked with every persona against
another organisation's objects, gives 404/403 (anonymous: a redirect to sign-in or 401/403)
and no data of that organisation.

Routes are found by walking the URL resolver, so a route added later is covered without
anyone remembering to: it must be given a category in ``CATEGORIES`` (or be an admin route),
or ``test_every_route_is_classified`` fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiToken, User
from accounts.services import api_token_create
from reference.loaders import SAMPLE_DIR
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Record, Submission
from submissions.services import submission_create, submission_process

pytestmark = pytest.mark.django_db

MONTH = date(2026, 6, 1)
AS_OF = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))

# What each route is, by URL name (namespaced). Admin routes are classified by their namespace.
#   public    - no sign-in needed and no organisation data (sign-in page, rules, schema)
#   account   - the signed-in user's own account (sign-out, password, second factor)
#   reference - reference data: any signed-in user reads it; nothing organisation-private
#   org_list  - lists scoped to the user's organisations (must not show another's data)
#   org_object- one object of an organisation, by key in the URL (must be 404/403 for others)
#   national  - national pages: national analysts only
CATEGORIES: dict[str, str] = {
    "accounts:sign-in": "public",
    "admin:login": "public",
    "admin:logout": "public",
    "submissions:rules": "public",
    "api-schema": "public",
    "api-docs": "public",
    "healthz": "public",
    "readyz": "public",
    "api-root": "reference",
    "accounts:home": "account",
    "accounts:sign-out": "account",
    "accounts:otp-verify": "account",
    "accounts:otp-setup": "account",
    "accounts:password-change": "account",
    "accounts:choose-organisation": "account",
    "accounts:provider-home": "org_list",
    "accounts:token-list": "org_list",
    "accounts:token-create": "org_list",
    "accounts:token-revoke": "org_object",
    "organisation-list": "reference", "organisation-detail": "reference",
    "site-list": "reference", "site-detail": "reference",
    "submittingarrangement-list": "reference", "submittingarrangement-detail": "reference",
    "codelist-list": "reference", "codelist-detail": "reference",
    "code-list": "reference", "code-detail": "reference",
    "snomedconcept-list": "reference", "snomedconcept-detail": "reference",
    "nicipcode-list": "reference", "nicipcode-detail": "reference",
    "referencerelease-list": "reference", "referencerelease-detail": "reference",
    "api-checks": "org_list",
    "api-reference-snapshot": "reference",
    "submission-list": "org_list",
    "submission-detail": "org_object",
    "submission-findings": "org_object",
    "submission-findings-csv": "org_object",
    "submission-annotated-csv": "org_object",
    "submission-reprocess": "org_object",
    "audit-event-list": "org_list",
    "audit-event-export": "org_list",
    "submissions:provider-home": "org_list",
    "submissions:list": "org_list",
    "submissions:upload": "org_list",
    "submissions:detail": "org_object",
    "submissions:findings": "org_object",
    "submissions:findings-csv": "org_object",
    "submissions:annotated-csv": "org_object",
    "submissions:reprocess": "org_object",
    "submissions:month": "org_list",
    "submissions:diff": "org_list",
    "national:home": "national",
    "national:compliance": "national",
    "national:quality": "national",
    "national:statistics": "national",
    "national:audit": "national",
    "national:timetable": "national", "national:deadline-edit": "national",
    "national:reopenings": "national", "national:reopening-end": "national",
    "national:cutoffs": "national", "national:cutoff": "national",
    "national:cutoff-run": "national",
    "national:extracts": "national", "national:extract-download": "national",
    "national:compliance-csv": "national",
    "national:owing-csv": "national",
    "national:activity-csv": "national",
    "national:waits-csv": "national",
    "national:audit-csv": "national",
    # The monthly cycle's API.
    "api-periods": "reference", "api-period": "reference",
    "api-cutoff-statistics": "reference", "api-cutoff-statistics-csv": "reference",
    "api-period-reopenings": "national", "api-cutoffs": "national", "api-cutoff": "national",
    "api-cutoff-extracts": "national", "api-extract": "national",
    "api-extract-download": "national", "api-compliance": "national",
    "api-compliance-csv": "national", "api-compliance-owing": "national",
    "api-compliance-owing-csv": "national",
    "api-months": "org_list",
    "api-version-diff": "org_object",
}

PERSONAS = ["submitter", "colleague", "other_provider_user", "analyst", "reference_admin",
            "anonymous"]
DENIED = {403, 404}


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str

    @property
    def category(self) -> str | None:
        if self.name in CATEGORIES:
            return CATEGORIES[self.name]
        if self.name.startswith("admin:") or self.pattern.startswith("admin/"):
            return "admin"
        return None


def _walk(patterns: list, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            yield Route(prefix + str(entry.pattern), name)


def all_routes() -> list[Route]:
    return list(dict.fromkeys(_walk(get_resolver().url_patterns)))


def test_every_route_is_classified() -> None:
    unclassified = [f"{r.pattern} ({r.name or 'unnamed'})" for r in all_routes()
                    if r.category is None]
    assert not unclassified, (
        "Routes without an isolation category (add them to CATEGORIES in "
        f"tests/security/test_isolation_matrix.py): {unclassified}")


# Objects of each organisation -------------------------------------------------------------------


@dataclass
class OrgData:
    submission: Submission
    token: ApiToken
    secrets: list[str]  # accession numbers and NHS numbers of its records


@pytest.fixture
def world(submitter, colleague, other_provider_user, analyst, reference_admin, tmp_path: Path):
    snapshot = ReferenceSnapshot.from_directory(SAMPLE_DIR)
    data: dict[str, OrgData] = {}
    for org, user in (("RR8", submitter), ("RCD", other_provider_user)):
        path = tmp_path / f"{org}.csv"
        generate_file(path, rows=30, org=org, month=MONTH, dataset_version="2.0",
                      reference=snapshot, error_rate=0.2, seed=7 if org == "RR8" else 8)
        with path.open("rb") as handle:
            submission, _ = submission_create(actor=user, organisation_code=org,
                                              activity_month=MONTH, upload=handle,
                                              original_name=f"{org}.csv", as_of=AS_OF)
        submission_process(submission_id=submission.pk)  # on_commit does not run in a test
        submission.refresh_from_db()
        assert submission.is_finished and Record.objects.filter(submission=submission).exists()
        token, _ = api_token_create(actor=user, organisation_code=org, name=f"{org} RIS")
        records = Record.objects.filter(submission=submission)
        values = [v for pair in records.values_list("accession_number", "nhs_number")[:30]
                  for v in pair if v and len(v) >= 6]
        data[org] = OrgData(submission, token, values)
    return data


def _other_org(persona: str) -> str:
    """The organisation whose objects the persona must not reach."""
    return "RR8" if persona == "other_provider_user" else "RCD"


# A path converter (<int:pk>), a named regex group ((?P<pk>[^/.]+)) or an unnamed one (([^/]+)).
URL_KEY = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^()]*\)|\([^()]*\)")


def _url(route: Route, target: OrgData) -> str | None:
    """A concrete URL for the route, its keys pointing at the target organisation's objects.

    None when the pattern keeps regex syntax this cannot fill (the test then fails on it).
    """
    values = {
        "pk": str(target.token.pk if route.name == "accounts:token-revoke" else
                  target.submission.pk),
        "object_id": str(target.submission.pk),
        "month": f"{MONTH:%Y-%m}",
        "format": "json",
        "app_label": "submissions",
        "url": "",
    }
    # Unnamed groups are simple_history's (object id, history id).
    unnamed = iter([str(target.submission.pk), "1"])

    def fill(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, "1") if name else next(unnamed, "1")

    url = URL_KEY.sub(fill, route.pattern)
    url = url.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    if any(ch in url for ch in "()[]*+?\\|"):
        return None
    return "/" + url.lstrip("/")


def _client(persona: str, request) -> Client:
    client = Client(raise_request_exception=False)
    if persona != "anonymous":
        user: User = request.getfixturevalue(persona)
        client.force_login(user)
        if persona in ("submitter", "colleague"):
            session = client.session
            session["dids_active_organisation"] = "RR8"
            session.save()
    return client


def _expected(category: str, persona: str) -> str:
    """'denied' (404/403, or to sign-in when anonymous), 'allowed' (any non-5xx, no foreign
    data) or 'national' (allowed: national users see every organisation by design)."""
    if persona == "anonymous":
        return "allowed" if category == "public" else "denied"
    if category == "org_object":
        return "national" if persona == "analyst" else "denied"
    if category == "national":
        return "national" if persona == "analyst" else "denied"
    if category == "admin":
        return "national" if persona in ("analyst", "reference_admin") else "denied"
    return "allowed"


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_persona_reaches_another_organisations_data(persona: str, world, request) -> None:
    target = world[_other_org(persona)]
    client = _client(persona, request)
    failures = []
    for route in all_routes():
        category = route.category
        if category is None:
            continue
        url = _url(route, target)
        if url is None:
            # A route the matrix cannot reach is a route it does not prove: teach _url its keys.
            failures.append(f"cannot build a URL for {route.pattern} ({route.name})")
            continue
        expected = _expected(category, persona)
        methods = ["get"]
        if category == "org_object" and expected != "allowed":
            methods.append("post")  # actions (reprocess, revoke) must be refused too
        for method in methods:
            response = getattr(client, method)(url)
            status = response.status_code
            body = _body(response)
            if status >= 500:
                failures.append(f"{method.upper()} {url} ({route.name}): {status}")
                continue
            if expected == "denied":
                ok = status in DENIED or status == 405
                if persona == "anonymous" or status == 302:
                    location = response.get("Location", "")
                    ok = ok or (status in (301, 302, 401) and (
                        "sign-in" in location or "login" in location or status == 401))
                if not ok:
                    failures.append(f"{method.upper()} {url} ({route.name}): {status}, "
                                    "expected 404/403")
            if expected != "national":
                leaked = [s for s in target.secrets if s in body]
                if leaked:
                    failures.append(f"{method.upper()} {url} ({route.name}) shows another "
                                    f"organisation's data: {leaked[:3]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("persona", ["submitter", "other_provider_user"])
def test_a_token_never_reaches_another_organisations_submission(persona: str, world) -> None:
    own = "RCD" if persona == "other_provider_user" else "RR8"
    target = world[_other_org(persona)]
    from rest_framework.test import APIClient

    from accounts.services import api_token_create as create

    user = world[own].token.user
    _, plaintext = create(actor=user, organisation_code=own, name="matrix")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    pk = target.submission.pk
    for path in (f"/api/submissions/{pk}/", f"/api/submissions/{pk}/findings/",
                 f"/api/submissions/{pk}/findings.csv", f"/api/submissions/{pk}/annotated.csv"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert client.post(f"/api/submissions/{pk}/reprocess/").status_code == 404
    listing = client.get("/api/submissions/").json()["results"]
    assert {s["organisation"] for s in listing} <= {own}
    audit = client.get("/api/audit-events/").json()["results"]
    assert {e["organisation_code"] for e in audit} <= {own}
