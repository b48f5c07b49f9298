"""Faults during ingest, with real worker processes against Redis and PostgreSQL.

- kill -9 of the worker at random points mid-load: every version ends complete (or failed and
  reprocessable), no record lost or duplicated, finished by the restarted worker on its own;
- the database connection cut mid-COPY: no half version is ever visible;
- the same task delivered twice: published once;
- a file that kills the worker every time: tried at most 3 times, then failed with a reason.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts.choices import AuditAction
from accounts.models import AuditEvent
from submissions.choices import JobState, SubmissionStatus
from submissions.models import Record, Submission, SubmissionJob
from submissions.services import MAX_ATTEMPTS, submission_create, submission_reprocess
from submissions.tasks import process_submission
from tests.fault.conftest import ROWS, Workers, wait_for
from tests.submissions.conftest import AS_OF, MONTH

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 10


def _submit(user, path: Path, *, enqueue=None) -> Submission:
    with path.open("rb") as handle:
        submission, _ = submission_create(actor=user, organisation_code="RR8",
                                          activity_month=MONTH, upload=handle,
                                          original_name="big.csv", as_of=AS_OF,
                                          **({"enqueue": enqueue} if enqueue else {}))
    return submission


def _state(pk: int) -> tuple[str, str, int]:
    submission = Submission.objects.select_related("job").get(pk=pk)
    return submission.status, submission.job.state, submission.job.rows_done


def _records(pk: int) -> int:
    return Record.objects.filter(submission_id=pk).count()


def _finished(pk: int) -> bool:
    return Submission.objects.get(pk=pk).is_finished


def test_killing_the_worker_mid_load_loses_and_duplicates_nothing(workers: Workers, submitter,
                                                                  big_file: Path) -> None:
    rng = random.Random(20261125)
    # A clean run first: the count every killed run must end with.
    worker = workers.start()
    clean = _submit(submitter, big_file)
    assert wait_for(lambda: _state(clean.pk)[2] > 0, timeout=240, step=0.01)
    load_started = time.monotonic()
    assert wait_for(lambda: _finished(clean.pk), timeout=240, step=0.01)
    load_seconds = time.monotonic() - load_started  # from the first rows to the commit
    clean_count = _records(clean.pk)
    assert clean_count == ROWS

    mid_load_kills = 0
    for trial in range(TRIALS):
        submission = _submit(submitter, big_file)
        # Wait until the load is under way (progress is written from a side connection) ...
        started = wait_for(lambda s=submission: _state(s.pk)[2] > 0 or _finished(s.pk),
                           timeout=240, step=0.01)
        assert started, f"trial {trial}: the worker never started loading"
        # ... then kill it at a random point of the load.
        time.sleep(rng.uniform(0.0, 0.8 * load_seconds))
        status_at_kill = _state(submission.pk)
        workers.kill(worker)
        if not _finished(submission.pk):
            mid_load_kills += 1
            assert _records(submission.pk) == 0, "a half version is visible after the kill"
        # The supervisor restarts the worker; nobody else does anything.
        worker = workers.start()
        assert wait_for(lambda s=submission: _finished(s.pk), timeout=240), (
            f"trial {trial}: not finished after restart (state at kill {status_at_kill})")
        submission.refresh_from_db()
        assert submission.status == SubmissionStatus.ACCEPTED, submission.failure_reason
        assert _records(submission.pk) == clean_count
        assert submission.job.attempts <= MAX_ATTEMPTS
    # Each accepted version in turn became live; exactly one is live now.
    assert Submission.objects.filter(is_live=True).count() == 1
    assert mid_load_kills >= TRIALS // 2, f"only {mid_load_kills} kills landed mid-load"


def test_cutting_the_database_connection_mid_copy_never_shows_half_a_version(
        workers: Workers, submitter, big_file: Path) -> None:
    workers.start()
    submission = _submit(submitter, big_file)
    assert wait_for(lambda: _state(submission.pk)[2] > 0, timeout=240, step=0.01)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query ILIKE 'COPY%%' AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cursor.fetchall()]
        assert pids, "no COPY in progress"
        seen = {_records(submission.pk)}
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The task retries (OperationalError) and loads the version again, whole.
    while not _finished(submission.pk):
        seen.add(_records(submission.pk))
        time.sleep(0.02)
    seen.add(_records(submission.pk))
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED
    assert seen <= {0, ROWS}, f"a partial version was visible: {sorted(seen)}"
    assert _records(submission.pk) == ROWS


def test_the_same_task_delivered_twice_publishes_once(workers: Workers, submitter,
                                                      big_file: Path) -> None:
    workers.start("a")
    workers.start("b")
    submission = _submit(submitter, big_file, enqueue=lambda pk: None)
    process_submission.delay(submission.pk)
    process_submission.delay(submission.pk)
    assert wait_for(lambda: _finished(submission.pk), timeout=240)
    time.sleep(1.0)  # let the second delivery run to its end
    submission.refresh_from_db()
    assert submission.is_live and _records(submission.pk) == ROWS
    assert submission.job.attempts == 1
    target = f"submission:{submission.pk}"
    assert AuditEvent.objects.filter(action=AuditAction.SUBMISSION_VALIDATED,
                                     target=target).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.LIVE_VERSION_CHANGED,
                                     target=target).count() == 1
    assert submission.history.filter(history_change_reason__startswith="Validated").count() == 1


def test_a_file_that_kills_the_worker_every_time_is_tried_three_times_then_failed(
        workers: Workers, submitter, big_file: Path) -> None:
    submission = _submit(submitter, big_file)
    for _start in range(MAX_ATTEMPTS + 2):
        worker = workers.start(DIDS_FAULT_KILL_AT_ROWS="20000")
        # It dies mid-load (the fault hook), or it fails the version and stays up.
        wait_for(lambda w=worker: w.poll() is not None or _finished(submission.pk), timeout=240)
        if _finished(submission.pk):
            break
        time.sleep(0.5)  # the dead worker's connection (and row lock) goes away
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.FAILED
    assert f"stopped the worker {MAX_ATTEMPTS} times" in submission.failure_reason
    assert submission.job.state == JobState.FAILED
    assert submission.job.attempts == MAX_ATTEMPTS + 1  # the 4th start only marks it failed
    assert _records(submission.pk) == 0
    # Failed is reprocessable: fixed (here: the fault switched off), it completes.
    workers.stop_all()
    submission_reprocess(actor=submitter, submission=submission)
    assert SubmissionJob.objects.get(submission=submission).attempts == 0
    workers.start()
    assert wait_for(lambda: _finished(submission.pk), timeout=240)
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED, submission.failure_reason
    assert _records(submission.pk) == ROWS
