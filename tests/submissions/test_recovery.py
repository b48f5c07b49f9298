"""Lost versions are queued again: unfinished, not locked by a worker, and validating (or
queued for longer than the threshold)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from submissions.choices import JobState, SubmissionStatus
from submissions.models import Submission, SubmissionJob
from submissions.services import submission_create, submission_recover_stalled
from tests.submissions.conftest import AS_OF, MONTH, upload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(submitter, make_file) -> Submission:
    submission, _ = submission_create(actor=submitter, organisation_code="RR8",
                                      activity_month=MONTH, upload=upload_of(make_file(rows=5)),
                                      original_name="june.csv", as_of=AS_OF,
                                      enqueue=lambda pk: None)
    return submission


def _recover() -> list[int]:
    queued: list[int] = []
    submission_recover_stalled(queued_longer_than=timedelta(minutes=2), enqueue=queued.append)
    return queued


def test_a_version_left_validating_by_a_dead_worker_is_queued_again(received) -> None:
    SubmissionJob.objects.filter(submission=received).update(state=JobState.VALIDATING,
                                                             attempts=1)
    assert _recover() == [received.pk]


def test_a_version_queued_a_moment_ago_is_left_in_the_queue(received) -> None:
    assert _recover() == []


def test_a_version_queued_long_ago_is_queued_again(received) -> None:
    SubmissionJob.objects.filter(submission=received).update(
        queued_at=timezone.now() - timedelta(minutes=5))
    assert _recover() == [received.pk]


def test_a_finished_version_is_never_queued_again(received) -> None:
    Submission.objects.filter(pk=received.pk).update(status=SubmissionStatus.REJECTED)
    SubmissionJob.objects.filter(submission=received).update(state=JobState.VALIDATING)
    assert _recover() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_version_a_worker_is_processing_is_left_alone(received) -> None:
    """The worker holds the row lock for its whole run: the lock says someone is on it."""
    SubmissionJob.objects.filter(submission=received).update(state=JobState.VALIDATING)
    locked, release = threading.Event(), threading.Event()

    def worker() -> None:
        with transaction.atomic():
            Submission.objects.select_for_update().get(pk=received.pk)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert _recover() == []
    finally:
        release.set()
        thread.join()
    assert _recover() == [received.pk]
