"""Writes of national extracts: ask for one, write it (once, under a writer lock), recover one
whose writer was lost, audit its download."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.models import User
from dids_portal.lib.errors import DomainError
from dids_portal.lib.tasks import task_send
from submissions.choices import ExtractState
from submissions.models import Extract

logger = logging.getLogger("submissions.cycle.services")

def extract_create(*, actor: User, month: date | str, kind: str, format: str,
                   request: Any = None) -> Extract:
    """Queue a pseudonymised national extract of a cut-off (national analysts only)."""
    from accounts.selectors import is_national
    from submissions.cycle.cutoff_selectors import cutoff_get

    if not is_national(actor):
        raise DomainError("Only national analysts can make extracts.", code="permission_denied",
                          status_code=403)
    if not settings.DIDS_PSEUDONYM_KEY:
        raise DomainError("DIDS_PSEUDONYM_KEY is not set: extracts cannot be pseudonymised.",
                          code="not_configured", status_code=503)
    cutoff = cutoff_get(month=month, kind=kind)
    with transaction.atomic():
        extract = Extract.objects.create(cutoff=cutoff, format=format, requested_by=actor,
                                         rows_total=cutoff.record_count)
        audit_record(actor=actor, action=AuditAction.EXPORT_CREATED, target=f"extract:{extract.pk}",
                     request=request, after={"month": f"{cutoff.period.activity_month:%Y-%m}",
                            "kind": cutoff.kind, "format": format})
        transaction.on_commit(lambda: _enqueue_extract(extract.pk))
    return extract


def extract_download_record(*, actor: Any, extract: Extract, request: Any = None) -> str:
    """Audit the download of a finished extract (pseudonymised patient data); its file name."""
    name = (extract.file.name or "").rsplit("/", 1)[-1]
    audit_record(actor=actor, action=AuditAction.PATIENT_DATA_DOWNLOADED,
                 target=f"extract:{extract.pk}", request=request,
                 after={"file": name, "sha256": extract.sha256})
    return name


EXTRACT_TASK = "submissions.tasks.build_extract"


def _enqueue_extract(extract_id: int) -> None:
    task_send(EXTRACT_TASK, extract_id)


# Times a worker may start writing one extract: one that kills its worker every time fails.
EXTRACT_MAX_ATTEMPTS = 3
# The advisory lock class of extract writers (PostgreSQL): (this, extract id) is held by the
# connection of the worker writing it, for as long as it writes; it goes with a dead worker.
EXTRACT_WRITER_LOCK = 0x44494458  # "DIDX"


def _writer_lock(extract_id: int, *, take: bool) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        function = "pg_advisory_lock" if take else "pg_advisory_unlock"
        cursor.execute(f"SELECT {function}(%s, %s)", [EXTRACT_WRITER_LOCK, extract_id])


def _writer_alive(extract_id: int) -> bool:
    """Whether a worker is writing this extract now (PostgreSQL: it holds the writer lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [EXTRACT_WRITER_LOCK, extract_id])
        return not cursor.fetchone()[0]


def extract_build(*, extract_id: int) -> str:
    """Write the extract file. Claimed by a status change (queued to writing) under a row lock,
    so a second delivery finds nothing to do; progress is written to the row as batches are
    written. The writer holds a lock for as long as it writes, so that a worker that dies
    mid-write is recognised and its extract queued again (``extract_recover_stalled``)."""
    from submissions.cycle.extracts import write_extract
    from submissions.loading import rows_reported

    with transaction.atomic():
        extract = Extract.objects.select_for_update().filter(pk=extract_id).first()
        if extract is None:
            return "missing"
        if extract.state != ExtractState.QUEUED:
            return "claimed already"
        extract.attempts += 1
        if extract.attempts > EXTRACT_MAX_ATTEMPTS:
            extract.state = ExtractState.FAILED
            extract.error = (f"Writing stopped the worker {EXTRACT_MAX_ATTEMPTS} times; "
                             "the extract was not written again.")
            extract.finished_at = timezone.now()
            extract.save(update_fields=["attempts", "state", "error", "finished_at"])
            return str(extract.state)
        extract.state = ExtractState.WRITING
        extract.started_at = timezone.now()
        extract.rows_done = 0
        extract.save(update_fields=["attempts", "state", "started_at", "rows_done"])
        _writer_lock(extract_id, take=True)  # a session lock: it outlives this transaction

    def progress(rows: int) -> None:
        Extract.objects.filter(pk=extract_id).update(rows_done=rows)

    try:
        write_extract(extract, on_rows=rows_reported(progress, kind="extract"))
    except Exception as exc:
        logger.exception("Extract %s failed", extract_id)
        extract.state = ExtractState.FAILED
        extract.error = str(exc)[:500]
    else:
        extract.state = ExtractState.DONE
    finally:
        _writer_lock(extract_id, take=False)
    extract.finished_at = timezone.now()
    extract.save()
    return str(extract.state)


def extract_recover_stalled(*, queued_longer_than: timedelta | None = None,
                            enqueue: Callable[[int], Any] | None = None) -> list[int]:
    """Queue again the extracts whose writing was lost; returns their ids.

    Like ``submission_recover_stalled`` for versions: an extract is lost when it is writing
    and no worker holds its writer lock (the lock goes with a dead worker's connection; on
    SQLite, which has no such lock, when it has been writing for longer than the task time
    limit), or queued for longer than the threshold. Its state goes back to queued and it is
    queued again; building is idempotent. Called when a worker starts and by beat every minute.
    """
    now = timezone.now()
    threshold = queued_longer_than or timedelta(
        seconds=getattr(settings, "DIDS_REQUEUE_QUEUED_AFTER_SECONDS", 120))
    time_limit = timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 3600) + 60)
    candidates = list(Extract.objects.filter(state__in=[ExtractState.QUEUED,
                                                        ExtractState.WRITING])
                      .values_list("pk", flat=True)[:1000])
    lost: list[int] = []
    for extract_id in candidates:
        with transaction.atomic():
            extract = (Extract.objects.select_for_update(skip_locked=True)
                       .filter(pk=extract_id).first())
            if extract is None:
                continue  # being claimed now
            if extract.state == ExtractState.QUEUED:
                # Queued since it was requested, or since its last writer was lost.
                if (extract.started_at or extract.requested_at) <= now - threshold:
                    lost.append(extract_id)
                continue
            if extract.state != ExtractState.WRITING:
                continue
            if connection.vendor == "postgresql":
                if _writer_alive(extract_id):
                    continue
            elif extract.started_at and extract.started_at > now - time_limit:
                continue
            extract.state = ExtractState.QUEUED
            extract.rows_done = 0
            extract.started_at = now
            extract.save(update_fields=["state", "rows_done", "started_at"])
            lost.append(extract_id)
    run = enqueue or _enqueue_extract
    for extract_id in lost:
        logger.warning("Queuing extract %s again: its writing was lost", extract_id)
        run(extract_id)
    return lost
