"""The records table's partitions on PostgreSQL: one a month, created when the month's first
version is processed.

``submissions_record`` is ``PARTITION BY RANGE (activity_month)`` on PostgreSQL (migration
0011); SQLite keeps one table, and everything here does nothing there. A month's partition,
``submissions_record_YYYY_MM``, is made in a short transaction of its own before the version's
processing transaction opens (so no lock is held while a file is validated), under a
transaction-level advisory lock keyed on the month: two versions of a new month processed at
once both find the partition made, by whichever came first. It is created as a plain table
and then attached: ``ATTACH PARTITION`` takes a SHARE UPDATE EXCLUSIVE lock on the parent,
which neither reads nor COPYs of other months wait for (``CREATE TABLE ... PARTITION OF``
would take an ACCESS EXCLUSIVE one, and queue behind every running ingest).

There is no DEFAULT partition, on purpose: attaching a month would then lock and scan it, and
a record of a month without a partition fails loudly rather than piling up where no month's
read can prune it. Every path that writes records calls ``record_partition_ensure`` first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection, transaction

from submissions.cycle.timetable import add_months, month_start
from submissions.models import Record, Submission

RECORD_TABLE = Record._meta.db_table
# The advisory lock class of partition creation (PostgreSQL): (this, yyyymm) per month.
PARTITION_LOCK = 0x44494453  # "DIDS"


def record_partition_name(month: date | str) -> str:
    return f"{RECORD_TABLE}_{month_start(month):%Y_%m}"


def records_partitioned() -> bool:
    """Whether the records table is partitioned (PostgreSQL after migration 0011)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table "
                       "WHERE partrelid = to_regclass(%s))", [RECORD_TABLE])
        return bool(cursor.fetchone()[0])


def record_partitions() -> list[str]:
    """The names of the records table's partitions, oldest month first."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s) ORDER BY 1", [RECORD_TABLE])
        return [row[0] for row in cursor.fetchall()]


def _exists(cursor: Any, name: str) -> bool:
    # A scan of pg_class, not to_regclass(): an advisory lock does not make the server take
    # in catalogue changes, so a name lookup right after it can miss a table another process
    # has just committed; a statement's snapshot of pg_class does not.
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = %s "
                   "AND relnamespace = current_schema()::regnamespace)", [name])
    return bool(cursor.fetchone()[0])


def record_partition_ensure(month: date | str) -> bool:
    """Make the month's partition unless it exists; True if this call made it. Idempotent and
    safe when several processes call it for the same month at once."""
    if not records_partitioned():
        return False
    first = month_start(month)
    name = record_partition_name(first)
    with connection.cursor() as cursor:
        if _exists(cursor, name):
            return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       [PARTITION_LOCK, first.year * 100 + first.month])
        if _exists(cursor, name):  # made by another process while this one waited
            return False
        quoted = connection.ops.quote_name(name)
        cursor.execute(f"CREATE TABLE {quoted} (LIKE {RECORD_TABLE} INCLUDING DEFAULTS)")
        cursor.execute(f"ALTER TABLE {RECORD_TABLE} ATTACH PARTITION {quoted} FOR VALUES "
                       f"FROM ('{first.isoformat()}') TO ('{add_months(first, 1).isoformat()}')")
    return True


def record_partition_ensure_for(*, submission_id: int) -> bool:
    """``record_partition_ensure`` for a version's month (before its processing transaction)."""
    if connection.vendor != "postgresql":
        return False
    month = (Submission.objects.filter(pk=submission_id)
             .values_list("activity_month", flat=True).first())
    return month is not None and record_partition_ensure(month)
