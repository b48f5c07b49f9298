"""Celery tasks: take primary keys, call one service, own their retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import IntegrityError, OperationalError

from submissions.services import submission_process


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
