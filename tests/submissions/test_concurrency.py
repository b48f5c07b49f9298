"""Concurrency on PostgreSQL: real transactions, row locks and the partial unique index."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from time import sleep
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from submissions.cycle.services import period_reopen
from submissions.engine import CheckContext, validate
from submissions.loading import record_columns
from submissions.models import Record, Submission
from submissions.services import submission_create, submission_process
from tests.submissions.conftest import AS_OF, MONTH, upload_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _submit_and_process(user, path, results, errors):
    try:
        submission, _ = submission_create(
            actor=user, organisation_code="RR8", activity_month=MONTH, upload=upload_of(path),
            original_name=path.name, as_of=AS_OF, enqueue=lambda pk: None)
        submission_process(submission_id=submission.pk)
        results.append(submission.pk)
    except Exception as exc:  # surfaced by the assertion below
        errors.append(exc)
    finally:
        connection.close()


def test_two_concurrent_uploads_leave_exactly_one_live_version_the_newest(submitter, make_file):
    paths = [make_file(rows=300, seed=s) for s in (1, 2)]
    results: list[int] = []
    errors: list[Exception] = []
    threads = [threading.Thread(target=_submit_and_process, args=(submitter, p, results, errors))
               for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = Submission.objects.filter(organisation_id="RR8", activity_month=MONTH)
    assert sorted(versions.values_list("version", flat=True)) == [1, 2]
    live = list(versions.filter(is_live=True))
    assert len(live) == 1 and live[0].version == 2


def test_the_database_refuses_a_second_live_version(submitter, make_file):
    for seed in (1, 2):
        submission, _ = submission_create(
            actor=submitter, organisation_code="RR8", activity_month=MONTH,
            upload=upload_of(make_file(rows=5, seed=seed)), original_name="f.csv", as_of=AS_OF,
            enqueue=lambda pk: None)
        submission_process(submission_id=submission.pk)
    old = Submission.objects.get(version=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Submission.objects.filter(pk=old.pk).update(is_live=True)


def test_records_are_loaded_by_copy_complete_with_every_column(submitter, make_file):
    submission, _ = submission_create(
        actor=submitter, organisation_code="RR8", activity_month=MONTH,
        upload=upload_of(make_file(rows=500, seed=4)), original_name="f.csv", as_of=AS_OF,
        enqueue=lambda pk: None)
    submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    records = Record.objects.filter(submission=submission)
    assert records.count() == submission.accepted_rows == 500
    sample = records.order_by("line").first()
    assert sample.activity_date.replace(day=1) == MONTH
    assert sample.procedure_start is not None and sample.procedure_start.tzinfo is not None
    assert sample.modality
    assert len(sample.nhs_number) == 10


@pytest.mark.parametrize("month", [date(2026, 3, 1), MONTH], ids=["v1.0", "v2.0"])
def test_every_stored_value_is_the_engine_s_accepted_value_for_both_versions(
        submitter, analyst, make_file, sample_snapshot, month):
    """COPY sends only the columns a version can fill: what lands in every record column,
    the other version's items included (NULL), is exactly what the engine accepted."""
    period_reopen(actor=analyst, organisation_code="RR8", month=month, reason="late file",
                  expires_at=timezone.now() + timedelta(days=1))
    path = make_file(rows=300, seed=9, month=month, error_rate=0.05)
    as_of = datetime.combine(month.replace(day=28) + timedelta(days=10), time(12),
                             tzinfo=ZoneInfo("Europe/London"))
    submission, _ = submission_create(
        actor=submitter, organisation_code="RR8", activity_month=month, upload=upload_of(path),
        original_name="f.csv", as_of=as_of, enqueue=lambda pk: None)
    submission_process(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.dataset_version == ("1.0" if month < date(2026, 4, 1) else "2.0")

    frames: list[pl.DataFrame] = []
    context = CheckContext(submitting_org="RR8", month=month, as_of=as_of, dataset_version=None)
    validate(path, context=context, reference=sample_snapshot, on_clean_batch=frames.append)
    expected = pl.concat(frames).select(record_columns()).rows()
    stored = list(Record.objects.filter(submission=submission).order_by("line")
                  .values_list(*record_columns()))
    assert 0 < len(stored) < 300
    assert [tuple(r) for r in stored] == expected


def test_a_copy_failing_mid_load_stops_every_stage_and_leaves_no_records(
        submitter, make_file, monkeypatch):
    """The load fails in the storing thread while the engine is still producing batches and
    the encoder is busy: every stage must still end (none left waiting on another), the
    version fail with its reason, and nothing be stored."""
    import submissions.engine.reader as reader
    import submissions.loading as loading
    import submissions.services as services

    monkeypatch.setattr(reader, "FIRST_BATCH_ROWS", 100)
    monkeypatch.setattr(reader, "BATCH_ROWS", 200)
    monkeypatch.setattr(reader, "BLOCK_SIZE", 1 << 12)
    real_encode = loading.encode_rows

    def slow_encode(frame, kinds):
        sleep(0.02)  # a slow encoder: the engine runs ahead of it
        return real_encode(frame, kinds)

    written: list[int] = []

    def connection_lost_on_second_batch(self, done):
        written.append(done)
        if len(written) == 2:
            raise RuntimeError("COPY interrupted: the connection to the server was lost")

    monkeypatch.setattr(loading, "encode_rows", slow_encode)
    monkeypatch.setattr(services.JobProgress, "rows", connection_lost_on_second_batch)
    submission, _ = submission_create(
        actor=submitter, organisation_code="RR8", activity_month=MONTH,
        upload=upload_of(make_file(rows=6_000, seed=12)), original_name="f.csv", as_of=AS_OF,
        enqueue=lambda pk: None)
    outcome: list[str] = []

    def process() -> None:
        try:
            outcome.append(submission_process(submission_id=submission.pk))
        finally:
            connection.close()

    runner = threading.Thread(target=process, daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive(), "the load hung after the COPY failed"
    assert outcome == ["failed"]
    submission.refresh_from_db()
    assert submission.status == "failed" and "COPY" in submission.failure_reason.upper()
    assert not Record.objects.filter(submission=submission).exists()
