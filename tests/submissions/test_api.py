from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from accounts.services import api_token_create
from submissions.models import Submission
from tests.submissions.conftest import AS_OF

pytestmark = pytest.mark.django_db


def upload(client, path, *, org="RR8", month="2026-06", key=None):
    """POST a file; the processing queued on commit runs (eagerly) before this returns."""
    from django.test import TestCase

    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with TestCase.captureOnCommitCallbacks(execute=True), path.open("rb") as handle:
        return client.post("/api/submissions/", {"file": handle, "organisation": org,
                                                 "activity_month": month},
                           format="multipart", **headers)


@pytest.fixture(autouse=True)
def fixed_submission_time():
    # Uploads through the API are judged at their receipt time; pin it to the start of July.
    import time_machine

    with time_machine.travel(AS_OF, tick=False):
        yield


def test_upload_returns_a_receipt_and_processes_the_file(api_client_for, submitter, make_file):
    response = upload(api_client_for(submitter), make_file(rows=20))
    assert response.status_code == 201, response.content
    receipt = response.json()
    assert set(receipt) >= {"submission_id", "version", "sha256", "size", "received_at"}
    detail = api_client_for(submitter).get(receipt["url"]).json()
    assert detail["status"] == "accepted"
    assert detail["is_live"] is True
    assert detail["job"]["state"] == "done" and detail["job"]["percent"] == 100


def test_the_same_idempotency_key_gives_the_same_receipt(api_client_for, submitter, make_file):
    client = api_client_for(submitter)
    path = make_file(rows=5)
    first = upload(client, path, key="ris-42")
    second = upload(client, path, key="ris-42")
    assert (first.status_code, second.status_code) == (201, 200)
    same = ("submission_id", "version", "sha256", "size", "received_at")
    assert [first.json()[k] for k in same] == [second.json()[k] for k in same]
    assert Submission.objects.count() == 1


def test_the_same_idempotency_key_with_another_file_is_a_422_that_says_so(api_client_for,
                                                                          submitter, make_file):
    client = api_client_for(submitter)
    first = upload(client, make_file(rows=5, seed=1), key="ris-42")
    again = upload(client, make_file(rows=5, seed=2), key="ris-42")
    assert (first.status_code, again.status_code) == (201, 422)
    error = again.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "a different file" in error["message"]
    assert Submission.objects.count() == 1


def test_the_same_idempotency_key_with_another_month_is_a_422_that_says_so(api_client_for,
                                                                           submitter, make_file):
    client = api_client_for(submitter)
    path = make_file(rows=5)
    upload(client, path, key="ris-42")
    again = upload(client, path, key="ris-42", month="2026-05")
    assert again.status_code == 422
    assert "a different month" in again.json()["error"]["message"]
    assert Submission.objects.count() == 1


def test_an_upload_with_two_file_parts_is_a_400_and_stores_nothing(api_client_for, submitter,
                                                                   make_file):
    with make_file(rows=5, seed=1).open("rb") as one, make_file(rows=5, seed=2).open("rb") as two:
        response = api_client_for(submitter).post(
            "/api/submissions/", {"file": [one, two], "organisation": "RR8",
                                  "activity_month": "2026-06"}, format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == {"file": ["Send one file: this request has 2."]}
    assert not Submission.objects.exists()


def test_a_check_with_two_file_parts_is_a_400(api_client_for, submitter, make_file):
    with make_file(rows=5, seed=1).open("rb") as one, make_file(rows=5, seed=2).open("rb") as two:
        response = api_client_for(submitter).post(
            "/api/checks/", {"file": [one, two], "activity_month": "2026-06"}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["file"]


def test_a_ris_token_uploads_for_its_own_organisation(client, submitter, make_file):
    _token, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    with make_file(rows=5).open("rb") as handle:
        response = client.post("/api/submissions/", {"file": handle, "activity_month": "2026-06"},
                               HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert response.status_code == 201, response.content
    assert Submission.objects.get().api_token is not None


def test_a_ris_token_cannot_upload_for_another_organisation(client, submitter, make_file):
    _token, plaintext = api_token_create(actor=submitter, organisation_code="RR8", name="RIS")
    with make_file(rows=5).open("rb") as handle:
        response = client.post("/api/submissions/", {"file": handle, "activity_month": "2026-06",
                                                     "organisation": "RCD"},
                               HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_viewer_reads_submissions_but_cannot_upload(api_client_for, submitter, colleague, make_file):
    upload(api_client_for(submitter), make_file(rows=5))
    assert api_client_for(colleague).get("/api/submissions/").json()["results"]
    assert upload(api_client_for(colleague), make_file(rows=5)).status_code == 403


def test_national_analysts_see_every_organisations_submissions(
        api_client_for, submitter, other_provider_user, analyst, make_file):
    upload(api_client_for(submitter), make_file(rows=5))
    upload(api_client_for(other_provider_user), make_file(rows=5, org="RCD"), org="RCD")
    orgs = {s["organisation"] for s in api_client_for(analyst).get("/api/submissions/").json()["results"]}
    assert orgs == {"RR8", "RCD"}


SUBMISSION_ENDPOINTS = ["", "findings/", "findings.csv", "annotated.csv"]


@pytest.mark.parametrize("suffix", SUBMISSION_ENDPOINTS)
def test_another_provider_gets_404_on_every_submission_endpoint(
        api_client_for, submitter, other_provider_user, make_file, suffix):
    receipt = upload(api_client_for(submitter), make_file(rows=5, error_rate=0.5)).json()
    response = api_client_for(other_provider_user).get(f"/api/submissions/{receipt['submission_id']}/{suffix}")
    assert response.status_code == 404
    assert b"RR8" not in response.content


def test_another_provider_gets_404_when_reprocessing(api_client_for, submitter, other_provider_user,
                                                      make_file):
    receipt = upload(api_client_for(submitter), make_file(rows=5)).json()
    response = api_client_for(other_provider_user).post(
        f"/api/submissions/{receipt['submission_id']}/reprocess/")
    assert response.status_code == 404


def test_another_provider_does_not_see_rr8_in_the_list(api_client_for, submitter,
                                                        other_provider_user, make_file):
    upload(api_client_for(submitter), make_file(rows=5))
    assert api_client_for(other_provider_user).get("/api/submissions/").json()["results"] == []


def test_findings_are_listed_in_file_order(api_client_for, submitter, make_file):
    receipt = upload(api_client_for(submitter), make_file(rows=100, error_rate=0.3, seed=5)).json()
    body = api_client_for(submitter).get(f"/api/submissions/{receipt['submission_id']}/findings/").json()
    lines = [f["line"] for f in body["results"] if f["line"]]
    assert lines == sorted(lines) and lines
    assert {"line", "item", "rule", "severity", "message"} <= set(body["results"][0])


def test_findings_csv_downloads_every_finding(api_client_for, submitter, make_file):
    receipt = upload(api_client_for(submitter), make_file(rows=100, error_rate=0.3, seed=5)).json()
    response = api_client_for(submitter).get(f"/api/submissions/{receipt['submission_id']}/findings.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    submission = Submission.objects.get()
    assert rows[0] == ["line", "item", "rule", "severity", "message", "value", "expected"]
    assert len(rows) - 1 == sum(submission.counts_by_rule.values())


def test_the_annotated_file_has_one_row_per_input_row_and_a_findings_column(
        api_client_for, submitter, make_file):
    path = make_file(rows=60, error_rate=0.3, seed=9)
    receipt = upload(api_client_for(submitter), path).json()
    response = api_client_for(submitter).get(f"/api/submissions/{receipt['submission_id']}/annotated.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    original = list(csv.reader(io.StringIO(path.read_text())))
    assert len(rows) == len(original)
    assert rows[0][-1] == "dids_findings"
    assert any(row[-1] for row in rows[1:])


def test_list_query_count_does_not_grow_with_submissions(api_client_for, submitter, make_file,
                                                         django_assert_max_num_queries):
    client = api_client_for(submitter)
    for seed in range(3):
        upload(client, make_file(rows=3, seed=seed))
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/submissions/").json()["results"]) == 3


def test_check_api_returns_the_report_and_stores_nothing(api_client_for, submitter, make_file):
    with make_file(rows=50, error_rate=0.2, seed=2).open("rb") as handle:
        response = api_client_for(submitter).post(
            reverse("api-checks"), {"file": handle, "organisation": "RR8",
                                    "activity_month": "2026-06"}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"dataset_version", "rows", "accepted_rows", "rejected_rows", "file_rejected",
            "counts_by_rule", "findings"} <= set(body)
    assert body["rows"] == 50 and body["rejected_rows"] > 0
    assert Submission.objects.count() == 0


def test_check_api_refuses_another_providers_organisation(api_client_for, other_provider_user,
                                                          make_file):
    with make_file(rows=5).open("rb") as handle:
        response = api_client_for(other_provider_user).post(
            reverse("api-checks"), {"file": handle, "organisation": "RR8",
                                    "activity_month": "2026-06"}, format="multipart")
    assert response.status_code == 403


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/submissions/").status_code in (401, 403)
