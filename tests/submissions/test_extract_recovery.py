"""Lost extracts are queued again, like lost versions: writing with no live writer, or queued
for longer than the threshold; one that kills its worker every time ends failed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from submissions.choices import ExtractState
from submissions.cycle.extract_services import (
    EXTRACT_MAX_ATTEMPTS,
    extract_build,
    extract_recover_stalled,
)
from submissions.cycle.services import period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.models import Extract
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = pytest.mark.django_db

KEY = "a-pseudonym-key-of-at-least-thirty-two-bytes"


@pytest.fixture
def extract(submitter, analyst, make_file, settings) -> Extract:
    settings.DIDS_PSEUDONYM_KEY = KEY
    submit_at(submitter, make_file(rows=5, seed=3), AS_OF)
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional",
                               now=default_deadlines(MONTH).provisional + timedelta(minutes=1))
    return Extract.objects.create(cutoff=cutoff, format="csv", requested_by=analyst,
                                  rows_total=cutoff.record_count)


def _recover() -> list[int]:
    queued: list[int] = []
    extract_recover_stalled(queued_longer_than=timedelta(minutes=2), enqueue=queued.append)
    return queued


def _left_writing_by_a_dead_worker(extract: Extract, *, attempts: int = 1) -> None:
    Extract.objects.filter(pk=extract.pk).update(
        state=ExtractState.WRITING, attempts=attempts, rows_done=3,
        started_at=timezone.now() - timedelta(hours=2))


def test_an_extract_left_writing_by_a_dead_worker_is_queued_again(extract) -> None:
    _left_writing_by_a_dead_worker(extract)
    assert _recover() == [extract.pk]
    extract.refresh_from_db()
    assert (extract.state, extract.rows_done) == (ExtractState.QUEUED, 0)


def test_a_recovered_extract_is_then_written(extract) -> None:
    _left_writing_by_a_dead_worker(extract)
    _recover()
    assert extract_build(extract_id=extract.pk) == ExtractState.DONE
    extract.refresh_from_db()
    assert extract.attempts == 2 and extract.rows_done == 5 and extract.file


def test_an_extract_queued_a_moment_ago_is_left_in_the_queue(extract) -> None:
    assert _recover() == []


def test_an_extract_queued_long_ago_is_queued_again(extract) -> None:
    Extract.objects.filter(pk=extract.pk).update(requested_at=timezone.now() - timedelta(minutes=5))
    assert _recover() == [extract.pk]


def test_a_finished_extract_is_never_queued_again(extract) -> None:
    Extract.objects.filter(pk=extract.pk).update(state=ExtractState.DONE,
                                                 started_at=timezone.now() - timedelta(hours=2))
    assert _recover() == []


def test_an_extract_that_stopped_its_worker_every_time_ends_failed(extract) -> None:
    _left_writing_by_a_dead_worker(extract, attempts=EXTRACT_MAX_ATTEMPTS)
    _recover()
    assert extract_build(extract_id=extract.pk) == ExtractState.FAILED
    extract.refresh_from_db()
    assert f"stopped the worker {EXTRACT_MAX_ATTEMPTS} times" in extract.error
    assert not extract.file


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_extract_a_worker_is_writing_is_left_alone(extract) -> None:
    """The writer holds its advisory lock while it writes: the lock says someone is on it."""
    from submissions.cycle.extract_services import EXTRACT_WRITER_LOCK

    _left_writing_by_a_dead_worker(extract)
    locked, release = threading.Event(), threading.Event()

    def writer() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [EXTRACT_WRITER_LOCK, extract.pk])
            locked.set()
            release.wait(10)
        connection.close()  # the lock goes with the connection, as a dead worker's does

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert locked.wait(10)
        assert _recover() == []
    finally:
        release.set()
        thread.join()
    assert _recover() == [extract.pk]
