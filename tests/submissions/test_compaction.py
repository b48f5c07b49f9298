"""A month's partition gives back the space of the records archived out of it."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from submissions.archive_services import records_archive_superseded
from submissions.compaction import compaction_due, partition_compact, record_partitions_compact
from submissions.models import PartitionCompaction, Record, Submission
from submissions.partitions import record_partition_name
from submissions.tasks import compact_record_partitions
from tests.submissions.conftest import AS_OF, MONTH
from tests.submissions.cycle_helpers import hand_file, submit_at

ROWS = [{"modality": "CT", "request": 3, "report": 1, "source": "01"},
        {"modality": "MRI", "request": 7, "report": 2, "source": "07"}]
COPIES = 3000  # v1's records copied to this many times their number: pages to give back


def _inflate(version: Submission) -> int:
    """Copy the version's records under new line numbers (as a large file would store them)."""
    columns = [f.column for f in Record._meta.concrete_fields]
    picked = ", ".join("line + g * 1000" if c == "line" else c for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO submissions_record ({', '.join(columns)}) "
                       f"SELECT {picked} FROM submissions_record, generate_series(1, %s) g "
                       f"WHERE activity_month = %s AND submission_id = %s",
                       [COPIES, version.activity_month, version.pk])
    total = Record.objects.filter(submission=version).count()
    Submission.objects.filter(pk=version.pk).update(accepted_rows=total)
    return total


@pytest.fixture
def archived(submitter, tmp_path):
    old = submit_at(submitter, hand_file(tmp_path / "v1.csv", ROWS), AS_OF)
    new = submit_at(submitter, hand_file(tmp_path / "v2.csv", ROWS, prefix="NEW"),
                    AS_OF + timedelta(hours=1))
    rows = _inflate(old)
    done = records_archive_superseded(now=timezone.now() + timedelta(days=36))
    assert [a.submission_id for a in done] == [old.pk] and done[0].rows == rows
    old.refresh_from_db()
    return old, new


def _filenode() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_filenode(to_regclass(%s))",
                       [record_partition_name(MONTH)])
        return int(cursor.fetchone()[0])


def _size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(to_regclass(%s))",
                       [record_partition_name(MONTH)])
        return int(cursor.fetchone()[0])



@pytest.mark.django_db
def test_there_is_nothing_to_rewrite_on_sqlite_or_before_any_archive(submitter, tmp_path) -> None:
    submit_at(submitter, hand_file(tmp_path / "v1.csv", ROWS), AS_OF)
    assert compaction_due(min_share=0.0) == []
    assert record_partitions_compact(min_share=0.0) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_month_with_enough_archived_is_rewritten_smaller_and_then_not_due(archived) -> None:
    old, new = archived
    [due] = compaction_due()
    assert (due.month, due.archived, due.held) == (MONTH, old.accepted_rows,
                                                    old.accepted_rows + new.accepted_rows)
    before = _size()

    assert compact_record_partitions.apply().get() == ["2026-06"]  # the nightly task

    log = PartitionCompaction.objects.get()
    assert (log.month, log.outcome, log.archived_records) == (MONTH, "compacted", due.archived)
    assert log.bytes_before == before and log.bytes_after == _size()
    assert log.bytes_after < before / 4
    assert Record.objects.filter(submission=new).count() == len(ROWS)  # live records stay
    assert compaction_due(min_share=0.0) == []  # nothing archived since
    assert log.held_records == due.held


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_share_under_the_setting_is_not_due(archived, django_assert_num_queries) -> None:
    with django_assert_num_queries(5):  # whatever the months: none a month
        share = compaction_due(min_share=0.0)[0].share
    assert share > settings.DIDS_COMPACT_FREE_SHARE
    assert compaction_due(min_share=min(1.0, share + 0.001)) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reader_holding_the_month_makes_the_rewrite_give_up_not_queue(archived) -> None:
    [due] = compaction_due()
    before = _filenode()
    url = connection.settings_dict
    with psycopg.connect(host=url["HOST"], port=url["PORT"] or 5432, user=url["USER"],
                         dbname=url["NAME"], password=url["PASSWORD"] or None) as reader:
        reader.execute(f"SELECT count(*) FROM {record_partition_name(MONTH)}")  # holds its lock
        log = partition_compact(due, lock_timeout=0.2)
    assert (log.outcome, log.bytes_after) == ("lock_timeout", None)
    assert _filenode() == before  # not rewritten (the plain VACUUM before it needs no such lock)
    assert [d.month for d in compaction_due()] == [MONTH]  # tried again at the next run
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"  # the session's setting is put back


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_month_with_a_version_being_processed_waits(archived, submitter, tmp_path) -> None:
    submit_at(submitter, hand_file(tmp_path / "v3.csv", ROWS), AS_OF + timedelta(hours=2),
              process=False)
    assert record_partitions_compact() == []
    assert not PartitionCompaction.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_command_lists_in_a_dry_run_then_rewrites(archived) -> None:
    before = _size()
    out = StringIO()
    call_command("dids_compact_records", "--dry-run", stdout=out)
    assert "2026-06: 6,002 of 6,004 records archived since the last rewrite (100%): would " \
           "rewrite" in out.getvalue()
    assert out.getvalue().endswith("1 month(s) would be rewritten.\n")
    assert _size() == before
    out = StringIO()
    call_command("dids_compact_records", "--month", "2026-06", stdout=out)
    assert f"rewritten, {before:,} bytes to {_size():,}" in out.getvalue()
    out = StringIO()
    call_command("dids_compact_records", stdout=out)
    assert out.getvalue() == "0 month(s) rewritten.\n"


@pytest.mark.django_db
def test_the_commands_misuse_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--min-share must be between 0 and 1"):
        call_command("dids_compact_records", "--min-share", "2")
    with pytest.raises(CommandError, match="a month is written YYYY-MM"):
        call_command("dids_compact_records", "--month", "June")
