"""Celery tasks: take primary keys, call one service, own their retry policy."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.db import IntegrityError, OperationalError, close_old_connections

from submissions.archive_services import records_archive_superseded
from submissions.compaction import record_partitions_compact
from submissions.cycle.extract_services import extract_build, extract_recover_stalled
from submissions.cycle.product import product_write
from submissions.cycle.services import cutoffs_run_due, reminders_send
from submissions.models import CutOff
from submissions.services import submission_process, submission_recover_stalled

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
)
def process_submission(self, submission_id: int) -> str:  # type: ignore[no-untyped-def]
    """Validate and store one submitted version (idempotent: redelivery finds nothing to do)."""
    return submission_process(submission_id=submission_id)


@shared_task(acks_late=True)
def recover_stalled_submissions() -> list[int]:
    """Beat, every minute: queue again the versions whose worker died (see the service)."""
    return submission_recover_stalled()


@shared_task(acks_late=True)
def recover_stalled_extracts() -> list[int]:
    """Beat, every minute: queue again the extracts whose worker died (see the service)."""
    return extract_recover_stalled()


@worker_ready.connect(dispatch_uid="dids_recover_on_worker_ready")
def recover_on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts (or restarts after being killed) picks up lost versions and
    extracts at once, without waiting for the broker's visibility timeout or for beat."""
    for kind, recover in (("submission", submission_recover_stalled),
                          ("extract", extract_recover_stalled)):
        try:
            lost = recover()
            if lost:
                logger.warning("Worker start: queued %s lost %s(s) again", len(lost), kind)
        except Exception:  # a recovery problem must not stop the worker; beat tries again
            logger.exception("Could not recover stalled %ss at worker start", kind)
    close_old_connections()


@shared_task(acks_late=True)
def run_due_cutoffs() -> list[int]:
    """Beat: run every cut-off whose deadline has passed (catching up if beat was down).

    Two beats at once are harmless: the cut-off service locks the period row, and the
    second run finds the frozen product and returns it."""
    return [cutoff.pk for cutoff in cutoffs_run_due(label="celery beat")]


@shared_task(acks_late=True)
def send_deadline_reminders() -> int:
    """Beat (daily): remind the organisations that still owe a month before its deadline."""
    return reminders_send()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError,), retry_backoff=5, max_retries=3)
def build_extract(self, extract_id: int) -> str:  # type: ignore[no-untyped-def]
    """Write one national extract (idempotent: a second delivery finds it claimed)."""
    return extract_build(extract_id=extract_id)


@shared_task(acks_late=True)
def archive_superseded_records() -> list[int]:
    """Beat (daily): move superseded versions' records that no cut-off took to Parquet."""
    return [a.submission_id for a in records_archive_superseded()]


@shared_task
def compact_record_partitions() -> list[str]:
    """Beat (daily, after the archive): rewrite the months' partitions whose archived records
    left enough free space (``submissions.compaction``); the months rewritten."""
    return [f"{item.month:%Y-%m}" for item, log in record_partitions_compact()
            if log is not None and log.outcome == "compacted"]


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,),
             retry_backoff=5, max_retries=3)
def write_product(cutoff_id: int) -> str:
    """Write a cut-off's Parquet product (idempotent: a second run writes the same file)."""
    cutoff = CutOff.objects.select_related("period").defer("manifest").get(pk=cutoff_id)
    path = product_write(cutoff=cutoff)
    return str(path or "")
