"""Storage grows with live data: superseded versions' records leave the records table.

A version superseded ``DIDS_SUPERSEDED_RECORDS_DAYS`` ago (a newer accepted version was
processed that long ago) that no cut-off took, nor can still take, has its records written
to a Parquet file beside its stored file (``submissions.records_archive``), and then deleted
from the table. Its file, findings, history and audit stay.

Crash-safe in this order: the Parquet file is written to a local temporary file, fsynced and
read back whole (its row count checked against what was written); it is then saved in the
upload's storage under a fixed name (a file a crashed run left there is replaced), fsynced
and read back again; only then, in one transaction holding the version's row, are its
archive fields set and its records deleted, after the table's count is checked once more.
A crash at any point leaves the records in the table (and at most a file nothing names, which
the next run replaces) or a complete archive named by the version; a repeat run finishes.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.audit import audit_record
from accounts.choices import AuditAction
from dids_portal.lib.history import history_set
from submissions.choices import ACCEPTED_STATUSES, CutOffKind
from submissions.cycle.timetable import default_deadlines
from submissions.models import CutOff, CutOffVersion, ReportingPeriod, Submission
from submissions.records_archive import RECORD_TABLE, archive_name, archive_rows, write_archive

logger = logging.getLogger(__name__)


@dataclass
class Archived:
    submission_id: int
    rows: int
    bytes: int


def records_archive_candidates(*, now: datetime | None = None,
                               days: int | None = None) -> QuerySet[Submission]:
    """Accepted versions not live, not archived, superseded (a newer accepted version
    processed) at least ``days`` ago, and in no cut-off."""
    days = settings.DIDS_SUPERSEDED_RECORDS_DAYS if days is None else days
    limit = (now or timezone.now()) - timedelta(days=days)
    newer = Submission.objects.filter(
        organisation_id=OuterRef("organisation_id"), activity_month=OuterRef("activity_month"),
        version__gt=OuterRef("version"), status__in=ACCEPTED_STATUSES, processed_at__lte=limit)
    taken = CutOffVersion.objects.filter(submission_id=OuterRef("pk"))
    return (Submission.objects.filter(status__in=ACCEPTED_STATUSES, is_live=False,
                                      records_archive="", processed_at__lte=limit)
            .filter(Exists(newer)).exclude(Exists(taken)).order_by("pk"))


def _may_yet_be_taken(submission: Submission) -> bool:
    """Whether a cut-off of its month that has not run would take it: it was the newest
    accepted version received at or before that deadline."""
    period = ReportingPeriod.objects.filter(activity_month=submission.activity_month).first()
    for kind in CutOffKind.values:
        if period is not None and CutOff.objects.filter(period=period, kind=kind).exists():
            continue
        deadline = (period.deadline(kind) if period is not None
                    else getattr(default_deadlines(submission.activity_month), kind))
        if submission.received_at > deadline:
            continue
        newer_before = Submission.objects.filter(
            organisation_id=submission.organisation_id, activity_month=submission.activity_month,
            version__gt=submission.version, status__in=ACCEPTED_STATUSES,
            received_at__lte=deadline)
        if not newer_before.exists():
            return True
    return False


def _fsync(storage: object, name: str) -> None:
    try:
        path = storage.path(name)  # type: ignore[attr-defined]
    except NotImplementedError:  # remote storage: its own durability
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    directory = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


# The month as well as the version: PostgreSQL then looks in the month's partition only.
_VERSION = "activity_month = %s AND submission_id = %s"


def _table_count(submission: Submission) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {RECORD_TABLE} WHERE {_VERSION}",  # noqa: S608
                       [submission.activity_month, submission.pk])
        return int(cursor.fetchone()[0])


def submission_records_archive(*, submission_id: int) -> Archived | None:
    """Move one version's records to its Parquet file (see the module); None if it is not
    (or no longer) to be archived."""
    submission = records_archive_candidates(days=0).filter(pk=submission_id).first()
    if submission is None or _may_yet_be_taken(submission):
        return None
    storage = submission.file.storage
    name = archive_name(submission)
    with tempfile.TemporaryFile(suffix=".parquet") as spool:
        with transaction.atomic():
            rows = write_archive(submission.pk, spool)
        spool.flush()
        os.fsync(spool.fileno())
        spool.seek(0)
        if archive_rows(spool) != rows:
            raise RuntimeError(f"Parquet archive of version {submission.pk} reads back wrong")
        if storage.exists(name):
            storage.delete(name)  # left by a run that did not finish: nothing names it
        spool.seek(0)
        saved = storage.save(name, File(spool, name=name))
    _fsync(storage, saved)
    with storage.open(saved, "rb") as handle:
        if archive_rows(handle) != rows:
            storage.delete(saved)
            raise RuntimeError(f"Stored archive of version {submission.pk} reads back wrong")
    size = storage.size(saved)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.records_archive or locked.is_live or _table_count(locked) != rows:
            if locked.records_archive != saved:
                storage.delete(saved)
            return None
        locked.records_archive = saved
        locked.records_archive_bytes = size
        locked.records_archived_at = timezone.now()
        history_set(locked, actor=None, reason=f"Superseded records archived ({rows} records)")
        locked.save(update_fields=["records_archive", "records_archive_bytes",
                                   "records_archived_at"])
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {RECORD_TABLE} WHERE {_VERSION}",  # noqa: S608
                           [locked.activity_month, locked.pk])
        audit_record(actor=None, action=AuditAction.RECORDS_ARCHIVED,
                     organisation_code=locked.organisation_id, target=f"submission:{locked.pk}",
                     after={"version": locked.version, "records": rows, "bytes": size})
    logger.info("Archived %s records of submission %s to Parquet (%s bytes)", rows,
                submission.pk, size)
    return Archived(submission_id=submission.pk, rows=rows, bytes=size)


def records_archive_superseded(*, now: datetime | None = None, days: int | None = None,
                               dry_run: bool = False, limit: int | None = None) -> list[Archived]:
    """Archive every candidate (``dry_run``: list them, with their records, and change
    nothing). Idempotent: a second run finds nothing to do."""
    candidates = [s for s in records_archive_candidates(now=now, days=days)[:limit]
                  if not _may_yet_be_taken(s)]
    if dry_run:
        return [Archived(submission_id=s.pk, rows=s.accepted_rows or 0, bytes=0)
                for s in candidates]
    done = []
    for submission in candidates:
        archived = submission_records_archive(submission_id=submission.pk)
        if archived is not None:
            done.append(archived)
    return done
