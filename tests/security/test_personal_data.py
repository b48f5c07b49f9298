"""Personal data: no NHS number in logs, task arguments or error pages; uploads refused by
size before their body is read."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from django.test import Client, RequestFactory, override_settings

from accounts.middleware import UPLOAD_OVERHEAD_BYTES, UploadSizeLimitMiddleware
from dids_portal.lib.logging import RedactNhsNumbers
from reference.loaders import SAMPLE_DIR
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Record
from tests.submissions.conftest import AS_OF, MONTH

pytestmark = pytest.mark.django_db


@pytest.fixture
def dids_file(tmp_path: Path) -> Path:
    path = tmp_path / "june.csv"
    generate_file(path, rows=300, org="RR8", month=MONTH, dataset_version="2.0",
                  reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), error_rate=0.3,
                  seed=21)
    return path


def test_an_upload_logged_at_debug_never_shows_an_nhs_number(
        dids_file: Path, submitter, api_client_for, caplog, django_capture_on_commit_callbacks
) -> None:
    # A handler as production configures it (the redacting filter), at DEBUG, on the root.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactNhsNumbers())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        client = api_client_for(submitter)
        with dids_file.open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/submissions/", {
                "file": handle, "activity_month": f"{MONTH:%Y-%m}", "organisation": "RR8"},
                format="multipart")
        assert response.status_code == 201, response.content
        pk = response.json()["submission_id"]
        for path in (f"/api/submissions/{pk}/", f"/api/submissions/{pk}/findings/",
                     f"/api/submissions/{pk}/findings.csv"):
            body = client.get(path)
            findings_text = (b"".join(body.streaming_content).decode()
                             if getattr(body, "streaming", False) else body.content.decode())
    finally:
        root.removeHandler(handler)
    numbers = set(Record.objects.filter(submission_id=pk).exclude(nhs_number=None)
                  .values_list("nhs_number", flat=True))
    text = dids_file.read_text(encoding="utf-8")
    assert numbers, "the file should carry NHS numbers"
    assert len(caplog.records) > 0
    logged = stream.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    leaked = [n for n in numbers if n in logged]
    assert not leaked, f"NHS numbers in the log: {leaked[:3]}"
    # Findings (API and CSV, below national level) show NHS numbers masked, never whole.
    assert not [n for n in numbers if n in findings_text]
    assert any(n in text for n in numbers)


def test_processing_is_queued_with_the_primary_key_only(dids_file: Path, submitter,
                                                        monkeypatch,
                                                        django_capture_on_commit_callbacks
                                                        ) -> None:
    from submissions import tasks
    from submissions.services import submission_create

    sent: list[tuple] = []
    monkeypatch.setattr(tasks.process_submission, "apply_async",
                        lambda args=(), kwargs=None, **options: sent.append((args, kwargs)))
    with dids_file.open("rb") as handle, django_capture_on_commit_callbacks(execute=True):
        submission, _ = submission_create(actor=submitter, organisation_code="RR8",
                                          activity_month=MONTH, upload=handle,
                                          original_name="june.csv", as_of=AS_OF)
    assert [(tuple(args), kwargs or {}) for args, kwargs in sent] == [((submission.pk,), {})]


@override_settings(DEBUG=False)
def test_error_pages_do_not_echo_an_nhs_number_from_the_address(client: Client,
                                                                submitter) -> None:
    client.force_login(submitter)
    for path in ("/submissions/9434765919/", "/api/submissions/9434765919/",
                 "/no-such-page/9434765919/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "9434765919" not in response.content.decode(), path


class _Unreadable(io.RawIOBase):
    def read(self, *args: object) -> bytes:
        raise AssertionError("the body was read")

    readline = read


@override_settings(DIDS_MAX_UPLOAD_BYTES=10_000)
def test_an_upload_over_the_limit_is_refused_before_its_body_is_read() -> None:
    request = RequestFactory().post("/api/submissions/", data=b"",
                                    content_type="multipart/form-data; boundary=x")
    request.META["CONTENT_LENGTH"] = str(10_000 + 1024 * 1024)
    request.META["wsgi.input"] = _Unreadable()
    request._stream = _Unreadable()  # type: ignore[attr-defined]

    def view(req):  # would read the body
        return req.POST

    response = UploadSizeLimitMiddleware(view)(request)
    assert response.status_code == 413
    assert b"file_too_large" in response.content


@override_settings(DIDS_MAX_UPLOAD_BYTES=10_000)
def test_the_upload_endpoints_answer_413_through_the_whole_stack(api_client_for, submitter,
                                                                 client: Client) -> None:
    big = io.BytesIO(b"x" * (200_000))
    big.name = "big.csv"
    response = api_client_for(submitter).post(
        "/api/submissions/", {"file": big, "activity_month": "2026-06"}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


@pytest.mark.django_db(transaction=True)
def test_the_development_server_answers_an_oversized_upload_with_413(live_server,
                                                                     settings) -> None:
    """runserver (and pytest-django's live server, the same WSGI server) refuses hop-by-hop
    headers such as Connection from the application: the 413 was a 500 there."""
    import socket
    from urllib.parse import urlsplit

    settings.DIDS_MAX_UPLOAD_BYTES = 10_000
    declared = 10_000 + UPLOAD_OVERHEAD_BYTES + 1
    address = urlsplit(live_server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(b"POST /api/submissions/ HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     + f"Content-Length: {declared}\r\n\r\n".encode() + b"--x\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), reply[:300]
