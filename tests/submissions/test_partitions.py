"""Records by activity month: the month stored with each record, PostgreSQL's partition a
month (made when the month's first version is processed, also by two processes at once), the
pruning of a month's reads, the migration that moves existing rows, and the statistics' counts
stored with each version."""

from __future__ import annotations

import importlib
import threading
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from submissions.cycle.statistics import live_statistics, product_scan
from submissions.models import Record, Submission, VersionStatistics
from submissions.partitions import (
    record_partition_ensure,
    record_partition_name,
    record_partitions,
    records_partitioned,
)
from submissions.services import submission_create, submission_process
from tests.submissions.conftest import AS_OF, MONTH, upload_of
from tests.submissions.diff_helpers import version

migration = importlib.import_module("submissions.migrations.0011_record_partitions")


def processed(user, path, month: date = MONTH) -> Submission:
    submission, _ = submission_create(
        actor=user, organisation_code="RR8", activity_month=month, upload=upload_of(path),
        original_name=path.name, as_of=AS_OF, enqueue=lambda pk: None)
    submission_process(submission_id=submission.pk)
    return Submission.objects.get(pk=submission.pk)


@pytest.mark.django_db
def test_each_record_carries_its_versions_activity_month(submitter, make_file) -> None:
    submission = processed(submitter, make_file(rows=40))
    months = set(Record.objects.filter(submission=submission, activity_month=MONTH)
                 .values_list("activity_month", flat=True))
    assert months == {MONTH}
    assert Record.objects.filter(submission=submission).count() == submission.accepted_rows


@pytest.mark.django_db
def test_a_processed_version_stores_the_statistics_counts_of_its_records(
        submitter, make_file) -> None:
    submission = processed(submitter, make_file(rows=120, seed=3))
    assert VersionStatistics.objects.filter(submission=submission).exists()
    stored = live_statistics([submission.pk])
    scanned = product_scan([submission.pk], month=MONTH)
    assert stored["total"] == scanned["total"] == submission.accepted_rows
    for key in ("by_modality", "by_provider", "by_provider_modality", "by_source_setting",
                "waits"):
        assert stored[key] == scanned[key], key
    assert stored["checksum"] is None


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_first_version_of_a_month_makes_the_months_partition(submitter, make_file) -> None:
    assert records_partitioned()
    month = date(2026, 5, 1)
    submission = processed(submitter, make_file(rows=30, month=month), month=month)
    assert record_partition_name(month) in record_partitions()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {record_partition_name(month)}")
        assert cursor.fetchone()[0] == submission.accepted_rows > 0
    assert record_partition_ensure(month) is False  # made already: nothing to do


@pytest.mark.postgres
@pytest.mark.django_db
def test_two_months_make_two_partitions_and_a_months_read_only_scans_its_own(rr8) -> None:
    may, june = date(2026, 5, 1), date(2026, 6, 1)
    older = version(rr8, 1, [{"activity_date": may, "modality": "CT", "site_code": "RR815",
                              "accession_number": "A1"}], month=may)
    newer = version(rr8, 2, [{"activity_date": june, "modality": "MR", "site_code": "RR815",
                              "accession_number": "A2"}], month=june)
    assert {record_partition_name(may), record_partition_name(june)} <= set(record_partitions())
    with CaptureQueriesContext(connection) as captured:
        assert product_scan([older.pk, newer.pk], month=june)["by_modality"] == {"MR": 1}
    scans = [q["sql"] for q in captured.captured_queries if "submissions_record" in q["sql"]]
    assert scans
    with connection.cursor() as cursor:
        for sql in scans:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert record_partition_name(june) in plan
            assert record_partition_name(may) not in plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_connections_making_the_same_months_partition_at_once_both_succeed() -> None:
    month = date(2031, 1, 1)  # no test's month: dropped again below
    start = threading.Barrier(2)
    made: list[bool] = []
    errors: list[Exception] = []

    def make() -> None:
        try:
            start.wait()
            made.append(record_partition_ensure(month))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=make) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert sorted(made) == [False, True]
        assert record_partition_name(month) in record_partitions()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {record_partition_name(month)}")


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_migration_moves_existing_rows_into_a_partition_a_month(rr8) -> None:
    may, june = date(2026, 5, 1), date(2026, 6, 1)
    older, newer = version(rr8, 1, [], month=may), version(rr8, 2, [], month=june)
    rows = [(older.pk, 1, "CT"), (older.pk, 2, "MR"), (newer.pk, 1, "US")]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE scratch_record (submission_id bigint NOT NULL, "
                       "line integer NOT NULL, modality text, PRIMARY KEY (submission_id, line))")
        cursor.executemany("INSERT INTO scratch_record VALUES (%s, %s, %s)", rows)
        assert migration.partition_table(cursor, "scratch_record") == [may, june]
        cursor.execute("SELECT count(*) FROM pg_partitioned_table "
                       "WHERE partrelid = 'scratch_record'::regclass")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT submission_id, line, modality, activity_month FROM scratch_record_2026_05 "
                       "ORDER BY 1, 2")
        assert cursor.fetchall() == [(older.pk, 1, "CT", may), (older.pk, 2, "MR", may)]
        cursor.execute("SELECT submission_id, line, modality, activity_month FROM scratch_record_2026_06")
        assert cursor.fetchall() == [(newer.pk, 1, "US", june)]
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'scratch_record'::regclass "
                       "AND contype = 'p'")
        assert cursor.fetchone()[0] == "scratch_record_pkey"
        migration.unpartition_table(cursor, "scratch_record")
        cursor.execute("SELECT submission_id, line, modality FROM scratch_record ORDER BY 1, 2")
        assert cursor.fetchall() == rows
