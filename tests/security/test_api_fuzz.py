"""Schemathesis over the OpenAPI schema, with two providers' tokens: no server error, no
response that breaks the schema, no read of the other organisation's data. Bounded (a few
examples per operation) to stay quick."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import api_token_create
from reference.loaders import SAMPLE_DIR
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Record
from submissions.services import submission_create, submission_process
from tests.submissions.conftest import AS_OF, MONTH

raw_schema = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(raw_schema)
schema.app = get_wsgi_application()

OTHER = {"RR8": "RCD", "RCD": "RR8"}


@pytest.fixture
def keep_the_test_connection():  # type: ignore[no-untyped-def]
    """Calls go straight to the WSGI app: keep Django from closing the test's database
    connection at the end of each request, as its test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def two_providers(db, submitter, other_provider_user, tmp_path: Path, settings,  # type: ignore[no-untyped-def]
                  keep_the_test_connection):
    settings.ALLOWED_HOSTS = ["*"]
    snapshot = ReferenceSnapshot.from_directory(SAMPLE_DIR)
    tokens, secrets = {}, {}
    for org, user in (("RR8", submitter), ("RCD", other_provider_user)):
        path = tmp_path / f"{org}.csv"
        generate_file(path, rows=20, org=org, month=MONTH, dataset_version="2.0",
                      reference=snapshot, error_rate=0.3, seed=3)
        with path.open("rb") as handle:
            submission, _ = submission_create(actor=user, organisation_code=org,
                                              activity_month=MONTH, upload=handle,
                                              original_name="f.csv", as_of=AS_OF)
        submission_process(submission_id=submission.pk)
        _, tokens[org] = api_token_create(actor=user, organisation_code=org, name="fuzz")
        secrets[org] = [v for pair in Record.objects.filter(submission=submission)
                        .values_list("accession_number", "nhs_number") for v in pair
                        if v and len(v) >= 6]
    return tokens, secrets


REFERENCE_PATHS = ("/api/organisations", "/api/sites", "/api/submitting-arrangements")


@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_holds_under_generated_requests(case, two_providers) -> None:  # type: ignore[no-untyped-def]
    tokens, secrets = two_providers
    for org in ("RR8", "RCD"):
        response = case.call(headers={"Authorization": f"Token {tokens[org]}"})
        case.validate_response(response,
                               checks=[not_a_server_error, response_schema_conformance])
        if response.status_code >= 300:
            continue
        body = response.text
        leaked = [s for s in secrets[OTHER[org]] if s in body]
        assert not leaked, f"{case.method} {case.formatted_path} read {OTHER[org]}'s data"
        if not case.formatted_path.startswith(REFERENCE_PATHS):
            assert f'"organisation":"{OTHER[org]}"' not in body.replace(" ", ""), (
                f"{case.method} {case.formatted_path} read {OTHER[org]}'s submissions")
