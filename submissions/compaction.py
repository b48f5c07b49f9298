"""Storage grows with live data, part two: a month's partition gives the archived records'
space back to the file system.

Archiving (``submissions.archive_services``) deletes a superseded version's records from the
month's partition. VACUUM (autovacuum) then marks their space free for the month's later
versions, but PostgreSQL never shrinks the partition's files, and once a month stops taking
versions that space is never reused. So, once the records archived out of a month's partition
since it was last rewritten reach ``DIDS_COMPACT_FREE_SHARE`` (default 0.2) of the records it
held, the daily task (after the archive's) rewrites that partition alone with
``VACUUM (FULL, ANALYZE)``, which writes its live rows into new files and drops the old ones
(after a plain ``VACUUM`` of it: see ``partition_compact``).

Both counts are the versions' stored counts (``accepted_rows``): nothing is counted to decide.

Locks: the rewrite holds an ACCESS EXCLUSIVE lock on that month's partition only, for about
as long as a COPY of its live records (see bench/scale.py); a read or write of that month
waits for it, other months do not. So it runs at night, skips a month with a version being
processed, and waits at most ``DIDS_COMPACT_LOCK_TIMEOUT_SECONDS`` for the lock: a long read
holding it makes the rewrite give up (logged, tried again the next night) rather than queue,
which would make every later reader of the month queue behind it. Every rewrite and every
give-up is logged as a ``PartitionCompaction``. The rewrite needs free disk space the size of
the partition's live data while it runs.

SQLite (one table, the embedded default) has nothing to rewrite: ``VACUUM`` of the whole file
is the operator's.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.db import OperationalError, connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Max, Sum
from django.utils import timezone

from submissions.choices import ACCEPTED_STATUSES, SubmissionStatus
from submissions.models import PartitionCompaction, Submission
from submissions.partitions import record_partition_name, record_partitions, records_partitioned

logger = logging.getLogger(__name__)


@dataclass
class Due:
    month: date
    archived: int  # records archived out of it since it was last rewritten
    held: int  # those and the records of its versions still in the table

    @property
    def share(self) -> float:
        return self.archived / self.held if self.held else 0.0


def _last_rewrites() -> dict[date, datetime]:
    done = (PartitionCompaction.objects.filter(outcome="compacted").values("month")
            .annotate(last=Max("started_at")))
    return {row["month"]: row["last"] for row in done}


def compaction_due(*, min_share: float | None = None, month: date | None = None) -> list[Due]:
    """The months whose partition is due a rewrite, oldest first (none on SQLite). Three
    queries however many months are stored: the last rewrites, the archived versions, and the
    records of the months' versions still in the table."""
    if not records_partitioned():
        return []
    min_share = settings.DIDS_COMPACT_FREE_SHARE if min_share is None else min_share
    existing = set(record_partitions())
    last = _last_rewrites()
    archived = Submission.objects.exclude(records_archive="")
    if month is not None:
        archived = archived.filter(activity_month=month)
    freed: dict[date, int] = {}
    for current, archived_at, rows in archived.values_list(
            "activity_month", "records_archived_at", "accepted_rows"):
        since = last.get(current)
        if since is None or (archived_at is not None and archived_at > since):
            freed[current] = freed.get(current, 0) + (rows or 0)
    months = [m for m in sorted(freed) if freed[m] and record_partition_name(m) in existing]
    kept = dict(Submission.objects.filter(activity_month__in=months, records_archive="",
                                          status__in=ACCEPTED_STATUSES)
                .values_list("activity_month").annotate(n=Sum("accepted_rows")))
    due = [Due(month=m, archived=freed[m], held=freed[m] + (kept.get(m) or 0)) for m in months]
    return [item for item in due if item.share >= min_share]


def _busy(month: date) -> bool:
    """A version of the month is being processed: its COPY would wait for the rewrite."""
    return Submission.objects.filter(activity_month=month,
                                     status=SubmissionStatus.RECEIVED).exists()


def _size(cursor: CursorWrapper, name: str) -> int:
    cursor.execute("SELECT pg_total_relation_size(to_regclass(%s))", [name])
    return int(cursor.fetchone()[0])


def partition_compact(item: Due, *, lock_timeout: float | None = None) -> PartitionCompaction:
    """Rewrite one month's partition (outside any transaction: VACUUM cannot run in one)."""
    if connection.in_atomic_block:
        raise RuntimeError("A partition is rewritten outside a transaction (VACUUM FULL).")
    seconds = settings.DIDS_COMPACT_LOCK_TIMEOUT_SECONDS if lock_timeout is None else lock_timeout
    name = record_partition_name(item.month)
    quoted = connection.ops.quote_name(name)
    started = timezone.now()
    clock = time.perf_counter()
    with connection.cursor() as cursor:
        before = _size(cursor, name)
        cursor.execute(f"SET lock_timeout = {int(seconds * 1000)}")
        try:
            # First a plain VACUUM, which removes the deleted rows that no transaction of this
            # database can still see: VACUUM FULL alone would copy over every deleted row that
            # a transaction of any database on the server, begun before the delete, was still
            # running (its snapshot's horizon is the server's), and give nothing back.
            cursor.execute(f"VACUUM {quoted}")
            cursor.execute(f"VACUUM (FULL, ANALYZE) {quoted}")
            outcome, after = "compacted", _size(cursor, name)
        except OperationalError as exc:  # lock_timeout: a reader held the month
            if "lock timeout" not in str(exc):
                raise
            outcome, after = "lock_timeout", None
        finally:
            cursor.execute("RESET lock_timeout")
    log = PartitionCompaction.objects.create(
        month=item.month, started_at=started, finished_at=timezone.now(),
        archived_records=item.archived, held_records=item.held, bytes_before=before,
        bytes_after=after, outcome=outcome)
    if outcome == "compacted":
        logger.info("Rewrote records partition %s in %.1f s: %s bytes to %s (%s of %s records "
                    "archived since)", name, time.perf_counter() - clock, before, after,
                    item.archived, item.held)
    else:
        logger.warning("Records partition %s not rewritten: its lock was not granted within "
                       "%s s (tried again at the next run)", name, seconds)
    return log


def record_partitions_compact(*, min_share: float | None = None, month: date | None = None,
                              dry_run: bool = False) -> list[tuple[Due, PartitionCompaction | None]]:
    """Rewrite every partition due (``dry_run``: list them and change nothing); a month with a
    version being processed waits for the next run."""
    done: list[tuple[Due, PartitionCompaction | None]] = []
    for item in compaction_due(min_share=min_share, month=month):
        if dry_run:
            done.append((item, None))
        elif _busy(item.month):
            logger.info("Records partition of %s not rewritten: a version is being processed",
                        f"{item.month:%Y-%m}")
        else:
            done.append((item, partition_compact(item)))
    return done
