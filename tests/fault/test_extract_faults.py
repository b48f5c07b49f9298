"""A worker killed mid-extract, with real worker processes against Redis and PostgreSQL: the
extract is left writing, and the restarted worker queues it again and writes it whole."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from reference.loaders import SAMPLE_DIR
from submissions.choices import ExtractState
from submissions.cycle.extract_services import EXTRACT_WRITER_LOCK, extract_create
from submissions.cycle.services import period_cut_off
from submissions.cycle.timetable import default_deadlines
from submissions.engine import ReferenceSnapshot, generate_file
from submissions.models import Extract
from tests.fault.conftest import Workers, wait_for
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import submit_at

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

KEY = "a-fault-test-pseudonym-key-of-32-bytes-or-more"
ROWS = 40


def _writer_lock_held(extract_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND classid = %s AND objid = %s", [EXTRACT_WRITER_LOCK, extract_id])
        return bool(cursor.fetchone()[0])


def test_killing_the_worker_mid_extract_leaves_it_writing_and_a_restart_finishes_it(
        workers: Workers, submitter, analyst, settings, tmp_path: Path) -> None:
    settings.DIDS_PSEUDONYM_KEY = KEY
    path = tmp_path / "june.csv"
    generate_file(path, rows=ROWS, org="RR8", month=MONTH, dataset_version="2.0",
                  reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), error_rate=0.0, seed=4)
    submit_at(submitter, path, AS_OF)
    period_cut_off(actor=None, month=MONTH, kind="provisional",
                   now=default_deadlines(MONTH).provisional + timedelta(minutes=1))
    # A worker that kills itself (SIGKILL) once it has written the first rows of an extract.
    dying = workers.start(DIDS_PSEUDONYM_KEY=KEY, DIDS_FAULT_KILL_EXTRACT_AT_ROWS="1")
    extract = extract_create(actor=analyst, month=MONTH, kind="provisional", format="csv")
    assert wait_for(lambda: dying.poll() is not None, timeout=180), "the worker did not die"
    extract.refresh_from_db()
    assert extract.state == ExtractState.WRITING and not extract.file
    # The dead worker's connection, and with it the writer lock, goes away.
    assert wait_for(lambda: not _writer_lock_held(extract.pk), timeout=10)
    # The supervisor restarts the worker; nobody else does anything.
    workers.start(DIDS_PSEUDONYM_KEY=KEY)
    assert wait_for(lambda: Extract.objects.get(pk=extract.pk).state == ExtractState.DONE,
                    timeout=180)
    extract.refresh_from_db()
    assert extract.attempts == 2 and extract.rows_done == ROWS
    assert len(extract.file.read().decode().splitlines()) == ROWS + 1  # and the header
