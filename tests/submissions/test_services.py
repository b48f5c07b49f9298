from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings

from dids_portal.lib.errors import DomainError
from submissions.choices import JobState, SubmissionStatus
from submissions.models import Finding, Record, Submission
from submissions.services import submission_create, submission_process, submission_reprocess
from tests.submissions.conftest import AS_OF, MONTH, upload_of


def submit(user, path, *, key="", process=True, org="RR8", month=MONTH):
    submission, created = submission_create(
        actor=user, organisation_code=org, activity_month=month, upload=upload_of(path),
        original_name=path.name, idempotency_key=key, as_of=AS_OF, enqueue=lambda pk: None,
    )
    if process:
        submission_process(submission_id=submission.pk)
        submission.refresh_from_db()
    return submission, created


@pytest.mark.django_db
def test_upload_gives_a_receipt_with_version_hash_and_size(submitter, make_file):
    path = make_file(rows=10)
    submission, created = submit(submitter, path, process=False)
    import hashlib

    assert created
    assert submission.version == 1
    assert submission.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert submission.size_bytes == path.stat().st_size
    assert submission.status == SubmissionStatus.RECEIVED
    assert submission.job.state == JobState.QUEUED


@pytest.mark.django_db
def test_same_idempotency_key_returns_the_first_receipt(submitter, make_file):
    path = make_file(rows=10)
    first, created_first = submit(submitter, path, key="ris-2026-06-run-1", process=False)
    again, created_again = submit(submitter, path, key="ris-2026-06-run-1", process=False)
    assert created_first and not created_again
    assert again.pk == first.pk
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_same_idempotency_key_with_another_file_is_refused_with_422(submitter, make_file):
    submit(submitter, make_file(rows=10, seed=1), key="ris-run-1", process=False)
    with pytest.raises(DomainError) as caught:
        submit(submitter, make_file(rows=10, seed=2), key="ris-run-1", process=False)
    assert (caught.value.code, caught.value.status_code) == ("idempotency_key_reused", 422)
    assert "a different file" in caught.value.message
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_same_idempotency_key_with_another_month_is_refused_with_422(submitter, make_file):
    path = make_file(rows=10)
    submit(submitter, path, key="ris-run-1", process=False)
    with pytest.raises(DomainError) as caught:
        submit(submitter, path, key="ris-run-1", process=False, month=MONTH.replace(month=5))
    assert caught.value.status_code == 422
    assert "a different month (2026-06 the first time)" in caught.value.message
    assert Submission.objects.count() == 1


@pytest.mark.django_db
def test_clean_file_is_accepted_live_and_stored_with_line_numbers(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=30))
    assert submission.status == SubmissionStatus.ACCEPTED
    assert submission.is_live
    assert submission.accepted_rows == 30
    lines = list(Record.objects.filter(submission=submission).values_list("line", flat=True)
                 .order_by("line"))
    assert lines == list(range(2, 32))  # generated files carry a header on line 1
    assert submission.job.state == JobState.DONE
    assert submission.reference_release is not None


@pytest.mark.django_db
def test_a_stored_upload_is_readable_by_the_portal_user_only(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=5), process=False)
    path = Path(submission.file.path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    spool = Path(settings.MEDIA_ROOT) / ".incoming"
    assert spool.stat().st_mode & 0o777 == 0o700


@pytest.mark.django_db
def test_rejected_records_are_not_stored_but_their_findings_are(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=200, error_rate=0.2, seed=7))
    assert submission.status == SubmissionStatus.ACCEPTED_WITH_WARNINGS
    assert submission.rejected_rows > 0
    stored = Record.objects.filter(submission=submission).count()
    assert stored == submission.accepted_rows == submission.rows - submission.rejected_rows
    findings = Finding.objects.filter(submission=submission)
    assert findings.count() == sum(submission.counts_by_rule.values())
    rejected_lines = set(findings.filter(severity="reject").values_list("line", flat=True))
    stored_lines = set(Record.objects.filter(submission=submission).values_list("line", flat=True))
    assert rejected_lines and not (rejected_lines & stored_lines)


@pytest.mark.django_db
def test_the_warning_count_counts_warnings_and_not_rejections(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=200, error_rate=0.2, seed=7))
    by_severity: dict[str, int] = {}
    for severity in Finding.objects.filter(submission=submission).values_list("severity",
                                                                               flat=True):
        by_severity[severity] = by_severity.get(severity, 0) + 1
    assert by_severity.get("reject", 0) > 0 and by_severity.get("warn", 0) > 0
    assert submission.warning_count == by_severity["warn"]


@pytest.mark.django_db
def test_the_version_stores_how_many_of_its_records_carry_a_warning(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=200, error_rate=0.2, seed=7))
    warned = Record.objects.filter(submission=submission, warnings__isnull=False).count()
    assert warned > 0
    assert submission.warned_rows == warned


@pytest.mark.django_db
def test_findings_never_hold_a_whole_nhs_number(submitter, make_file):
    import csv

    path = make_file(rows=300, error_rate=0.3, seed=3)
    with path.open(newline="") as handle:
        numbers = {row["nhs_number"].replace(" ", "").replace("-", "")
                   for row in csv.DictReader(handle) if len(row["nhs_number"]) >= 10}
    submission, _ = submit(submitter, path)
    stored = " ".join(v + " " + m for v, m in
                      Finding.objects.filter(submission=submission).values_list("value", "message"))
    assert numbers and not [n for n in numbers if n in stored]


@pytest.mark.django_db
def test_resubmission_supersedes_the_previous_version(submitter, make_file):
    first, _ = submit(submitter, make_file(rows=10, seed=1))
    second, _ = submit(submitter, make_file(rows=12, seed=2))
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert second.is_live and not first.is_live
    assert first.history.first().history_change_reason == "Superseded by version 2"


@pytest.mark.django_db
def test_rejected_file_never_replaces_the_live_version(submitter, make_file, bad_file):
    good, _ = submit(submitter, make_file(rows=10))
    bad, _ = submit(submitter, bad_file)
    good.refresh_from_db()
    assert bad.status == SubmissionStatus.REJECTED and bad.file_rejected
    assert good.is_live and not bad.is_live
    assert Record.objects.filter(submission=bad).count() == 0
    assert Finding.objects.filter(submission=bad, severity="file").exists()


@pytest.mark.django_db
def test_an_older_version_finishing_late_does_not_replace_a_newer_live_one(submitter, make_file):
    older, _ = submit(submitter, make_file(rows=10, seed=1), process=False)
    newer, _ = submit(submitter, make_file(rows=10, seed=2))
    submission_process(submission_id=older.pk)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.status == SubmissionStatus.ACCEPTED
    assert newer.is_live and not older.is_live


@pytest.mark.django_db
def test_a_second_delivery_of_the_task_finds_nothing_to_do(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=10))
    records = Record.objects.filter(submission=submission).count()
    assert submission_process(submission_id=submission.pk) == "finished already"
    assert Record.objects.filter(submission=submission).count() == records


@pytest.mark.django_db
def test_status_changes_are_in_history_with_who_and_why(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=5))
    history = list(submission.history.order_by("history_date"))
    assert [h.status for h in history] == [SubmissionStatus.RECEIVED, SubmissionStatus.ACCEPTED]
    assert all(h.history_user == submitter for h in history)
    assert history[-1].history_change_reason == "Validated: accepted and live"


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_version_with_its_reason_and_it_can_be_reprocessed(
        submitter, make_file, monkeypatch):
    import submissions.services as services

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire for 9434765919")

    submission, _ = submit(submitter, make_file(rows=5), process=False)
    monkeypatch.setattr(services, "validate", broken)
    submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED
    assert "disk on fire" in submission.failure_reason
    assert "9434765919" not in submission.failure_reason
    monkeypatch.undo()
    submission_reprocess(actor=submitter, submission=submission)
    submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED and submission.is_live


@pytest.mark.django_db
def test_a_version_that_stopped_the_worker_three_times_is_marked_failed(submitter, make_file):
    submission, _ = submit(submitter, make_file(rows=5), process=False)
    submission.job.attempts = 3  # three deliveries died mid-run without finishing
    submission.job.save()
    assert submission_process(submission_id=submission.pk) == "failed"
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED
    assert "3 times" in submission.failure_reason


@pytest.mark.django_db
def test_a_user_of_another_provider_cannot_submit_for_rr8(other_provider_user, make_file):
    with pytest.raises(DomainError) as caught:
        submit(other_provider_user, make_file(rows=5), process=False)
    assert caught.value.status_code == 403


@pytest.mark.django_db
def test_a_viewer_cannot_submit(colleague, make_file):
    with pytest.raises(DomainError):
        submit(colleague, make_file(rows=5), process=False)


@pytest.mark.django_db
def test_an_upload_over_the_size_limit_is_refused_before_anything_is_stored(
        submitter, make_file, settings):
    settings.DIDS_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(DomainError) as caught:
        submit(submitter, make_file(rows=50), process=False)
    assert caught.value.code == "file_too_large"
    assert Submission.objects.count() == 0
    assert not spooled_files(), "the refused upload's spool is removed"


def spooled_files():
    from django.core.files.storage import default_storage

    incoming = Path(default_storage.path("")) / ".incoming"
    return sorted(incoming.iterdir()) if incoming.exists() else []


@pytest.mark.django_db
def test_the_received_file_is_moved_into_storage_intact_and_no_spool_is_left(submitter, make_file):
    path = make_file(rows=20)
    submission, _ = submit(submitter, path, process=False)
    with submission.file.open("rb") as stored:
        assert stored.read() == path.read_bytes()
    assert submission.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not spooled_files()


def test_the_record_table_stores_every_engine_column_but_the_derivable_ones():
    from submissions.engine import STORAGE_COLUMNS
    from submissions.loading import record_columns

    # v1.0 test and report dates are activity_date and report_day; the version is the file's.
    derivable = {"test_date", "report_date", "dataset_version"}
    assert set(record_columns()) == {name for name, _kind in STORAGE_COLUMNS} - derivable
