"""Queues by kind with real workers: a worker started for ``ingest`` validates uploads while
an extract waits in the ``extracts`` queue, untouched, for a worker that serves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings

from submissions.choices import ExtractState, SubmissionStatus
from submissions.cycle.extract_services import extract_create
from submissions.cycle.product import product_path
from submissions.cycle.services import period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.models import Extract, Submission
from submissions.services import submission_create
from tests.submissions.conftest import AS_OF, MONTH, upload_of
from tests.submissions.cycle_helpers import submit_at
from tests.submissions.test_worker import real_broker, start_worker, stop_worker, wait_for

__all__ = ["real_broker"]  # the fixture, used by name

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

KEY = "a-pseudonym-key-of-at-least-thirty-two-bytes"


def waiting_in(queue: str) -> int:
    """Messages in a queue that no worker has taken (kombu's Redis list of that name)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


def test_an_ingest_worker_validates_uploads_while_an_extract_waits_for_an_extracts_worker(
        real_broker, submitter, analyst, make_file, settings) -> None:
    settings.DIDS_PSEUDONYM_KEY = KEY
    submit_at(submitter, make_file(rows=5, seed=3), AS_OF)
    cutoff, _ = period_cut_off(actor=None, month=MONTH, kind="provisional",
                               now=default_deadlines(MONTH).provisional + timedelta(minutes=1))
    # The cut-off queued the writing of its Parquet product on the extracts queue.
    assert waiting_in("extracts") == 1
    workers = [start_worker(("ingest",), DIDS_PSEUDONYM_KEY=KEY)]
    try:
        extract = extract_create(actor=analyst, month=MONTH, kind="provisional", format="csv")
        submission, _ = submission_create(
            actor=submitter, organisation_code="RR8", activity_month=MONTH,
            upload=upload_of(make_file(rows=200, seed=12)), original_name="july.csv", as_of=AS_OF)

        assert wait_for(lambda: Submission.objects.get(pk=submission.pk).is_finished, timeout=90)
        assert Submission.objects.get(pk=submission.pk).status == SubmissionStatus.ACCEPTED
        assert waiting_in("extracts") == 2  # the product and the extract wait for their worker
        assert Extract.objects.get(pk=extract.pk).state == ExtractState.QUEUED

        workers.append(start_worker(("extracts",), DIDS_PSEUDONYM_KEY=KEY))
        assert wait_for(lambda: Extract.objects.get(pk=extract.pk).state == ExtractState.DONE,
                        timeout=90)
        assert waiting_in("extracts") == 0
        assert wait_for(lambda: product_path(cutoff).exists(), timeout=30)
    finally:
        for process in workers:
            stop_worker(process)
