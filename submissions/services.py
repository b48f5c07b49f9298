"""Writes for submissions: receive a file, process a version, make the newest accepted one live."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import IO, Any, cast

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.audit import audit_record
from accounts.choices import AuditAction
from accounts.models import ApiToken, User
from accounts.selectors import can_submit_for
from dids_portal.lib.errors import DomainError
from dids_portal.lib.history import history_set
from dids_portal.lib.logging import redact
from dids_portal.lib.tasks import task_send
from reference.choices import PROVIDER_TYPES
from reference.models import Organisation
from submissions.assessment import submission_assess
from submissions.choices import (
    ACCEPTED_STATUSES,
    FINISHED_STATUSES,
    Channel,
    JobState,
    SubmissionStatus,
)
from submissions.cycle.lock import month_open_check, month_window
from submissions.cycle.timetable import month_start
from submissions.engine import CheckContext, Report, load_rules, validate
from submissions.loading import VersionWriter
from submissions.models import Submission, SubmissionJob
from submissions.partitions import record_partition_ensure_for
from submissions.progress import JobProgress
from submissions.selectors import reference_snapshot_load
from submissions.spool import SpooledFile, sha256_of, spool

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
def _same_request_check(existing: Submission, *, month: date, sha256: str) -> None:
    """An idempotency key names one request: its repeat gets the first receipt, but the key
    used again for another file or month is refused rather than answered with that receipt."""
    differences = []
    if existing.sha256 != sha256:
        differences.append("a different file")
    if existing.activity_month != month:
        differences.append(f"a different month ({existing.activity_month:%Y-%m} the first time)")
    if differences:
        raise DomainError(
            f"This idempotency key was already used for version {existing.version} of "
            f"{existing.activity_month:%Y-%m}; this request has {' and '.join(differences)}. "
            "Use a new key for a new upload.", code="idempotency_key_reused", status_code=422)


def _estimate_rows(head: bytes, size: int) -> int:
    lines = head.count(b"\n")
    if not head or lines == 0:
        return 1
    return max(1, int(size / (len(head) / lines)))


def _check_may_submit(actor: User | None, organisation: Organisation, month: date,
                      token: ApiToken | None) -> None:
    if actor is not None and not can_submit_for(actor, organisation.code, token=token):
        raise DomainError(f"You cannot submit for {organisation.code}.", code="permission_denied",
                          status_code=403)
    if organisation.type not in PROVIDER_TYPES:
        raise DomainError(f"{organisation.code} is not a provider organisation.", code="not_in_scope")
    if organisation.in_scope_from and month < organisation.in_scope_from.replace(day=1):
        raise DomainError(f"{organisation.code} is in scope from {organisation.in_scope_from:%B %Y}.",
                          code="not_in_scope")


def submission_create(*, actor: User | None, organisation_code: str, activity_month: date | str,
                      upload: IO[bytes], original_name: str, idempotency_key: str = "",
                      token: ApiToken | None = None, as_of: datetime | None = None,
                      channel: str = Channel.WEB,
                      received_at: datetime | None = None,
                      enqueue: Callable[[int], Any] | None = None,
                      request: Any = None) -> tuple[Submission, bool]:
    """Receive a file as a new version; returns (submission, created).

    ``actor`` None means an operator at the command line (``dids_submit``), who may submit for
    any provider; everyone else needs the submitter role for the organisation (or its token).

    The same idempotency key again with the same file and month returns the first receipt and
    creates nothing; with another file or month it is refused (422). Processing is queued when
    the transaction commits (``enqueue`` defaults to the Celery task).

    ``received_at`` (demo data only, ``channel=Channel.DEMO``) receives the version at a past
    time, as ``seed_demo`` builds a history: the month must have been open then, rather than
    now, and the file is checked as of that time. Every other receipt is received now.
    """
    if received_at is not None:
        _check_demo_receipt(channel, received_at)
    month = month_start(activity_month)
    organisation = Organisation.objects.filter(code=organisation_code.strip().upper()).first()
    if organisation is None:
        raise DomainError(f"Unknown organisation {organisation_code!r}.", code="unknown_organisation",
                          status_code=404)
    _check_may_submit(actor, organisation, month, token)
    key = (idempotency_key or "").strip()[:100]
    if key:
        existing = Submission.objects.filter(organisation=organisation, idempotency_key=key).first()
        if existing is not None:
            _same_request_check(existing, month=month, sha256=sha256_of(upload))
            return existing, False
    month_open_check(organisation_code=organisation.code, month=month,
                     at=received_at or timezone.now())
    stored = spool(upload)
    try:
        try:
            with transaction.atomic():
                Organisation.objects.select_for_update().get(pk=organisation.pk)  # version numbers
                latest = Submission.objects.filter(
                    organisation=organisation, activity_month=month).aggregate(v=Max("version"))["v"]
                now = received_at or timezone.now()
                submission = Submission(
                    organisation=organisation, activity_month=month, version=(latest or 0) + 1,
                    original_name=(original_name or "upload.csv")[:255], size_bytes=stored.size,
                    sha256=stored.sha256, idempotency_key=key, submitted_by=actor, api_token=token,
                    received_at=now, as_of=as_of or now, channel=channel,
                )
                submission.file.save("upload", SpooledFile(stored.temp), save=False)
                history_set(submission, actor=actor,
                         reason=f"Received {submission.original_name} as version {submission.version}")
                submission.save()
                SubmissionJob.objects.create(submission=submission,
                                             rows_estimate=_estimate_rows(stored.first_megabyte,
                                                                          stored.size))
                audit_record(actor=actor, action=AuditAction.SUBMISSION_UPLOADED,
                             organisation_code=organisation.code, request=request,
                             target=f"submission:{submission.pk}",
                             after=_audit_state(submission))
                run = enqueue or _enqueue_processing
                transaction.on_commit(lambda: run(submission.pk))
        except IntegrityError:
            if key:  # the same key raced in from a parallel request: its receipt stands
                existing = Submission.objects.filter(organisation=organisation,
                                                     idempotency_key=key).first()
                if existing is not None:
                    _same_request_check(existing, month=month, sha256=stored.sha256)
                    return existing, False
            raise
    finally:
        stored.discard()
    logger.info("Received submission %s: %s %s v%s, %s bytes", submission.pk, organisation.code,
                f"{month:%Y-%m}", submission.version, stored.size)
    return submission, True


def _check_demo_receipt(channel: str, received_at: datetime) -> None:
    if channel != Channel.DEMO:
        raise DomainError("Only demo data can be received at a time other than now.",
                          code="backdated_receipt")
    if received_at.tzinfo is None or received_at > timezone.now():
        raise DomainError("A demo receipt time must be a past, timezone-aware time.",
                          code="backdated_receipt")


def _audit_state(submission: Submission) -> dict[str, Any]:
    """What the audit trail keeps of a version: no record content, no file name."""
    return {"activity_month": f"{submission.activity_month:%Y-%m}", "version": submission.version,
            "status": str(submission.status), "is_live": submission.is_live,
            "size_bytes": submission.size_bytes, "sha256": submission.sha256,
            "channel": str(submission.channel), "api_token": getattr(submission.api_token, "prefix",
                                                                      None)}


PROCESS_TASK = "submissions.tasks.process_submission"


def _enqueue_processing(submission_id: int) -> None:
    task_send(PROCESS_TASK, submission_id)


def _warning_count(report: Report) -> int:
    """The findings of warning rules only: rejections and file errors are counted apart."""
    severity = {rule.id: rule.severity for rule in load_rules().rules}
    return sum(count for rule_id, count in report.counts_by_rule.items()
               if severity.get(rule_id) == "warn")


def _outcome(report: Report) -> str:
    if report.file_rejected:
        return SubmissionStatus.REJECTED
    if report.counts_by_rule:
        return SubmissionStatus.ACCEPTED_WITH_WARNINGS
    return SubmissionStatus.ACCEPTED


def _make_live_if_newest(submission: Submission) -> Submission | None:
    """Make this accepted version live unless a newer accepted one already is; returns the
    version it replaced, if any. Serialised per organisation by a row lock."""
    Organisation.objects.select_for_update().get(pk=submission.organisation_id)
    current = (Submission.objects.select_for_update()
               .filter(organisation_id=submission.organisation_id,
                       activity_month=submission.activity_month, is_live=True).first())
    if current is not None and current.version > submission.version:
        return None
    if current is not None:
        current.is_live = False
        history_set(current, actor=submission.submitted_by,
                 reason=f"Superseded by version {submission.version}")
        current.save(update_fields=["is_live"])
    submission.is_live = True
    return current


def submission_process(*, submission_id: int) -> str:
    """Validate and store one version: complete or absent, never half. Idempotent.

    The submission row is locked for the whole run, so a second delivery of the same task
    finds it locked (someone is on it) or finished (nothing to do).
    """
    progress: JobProgress | None = None
    try:
        record_partition_ensure_for(submission_id=submission_id)  # committed before the load
        with transaction.atomic():
            submission = (Submission.objects.select_for_update(skip_locked=True, of=("self",))
                          .select_related("organisation", "submitted_by").filter(pk=submission_id)
                          .first())
            if submission is None:
                return "busy" if Submission.objects.filter(pk=submission_id).exists() else "missing"
            if submission.is_finished:
                return "finished already"
            # Progress goes through its own connection: this transaction must not touch the
            # job row until the end, or the two connections would wait on each other.
            progress = JobProgress(submission.pk)
            attempts = progress.start()
            job = SubmissionJob.objects.get(submission=submission)
            if attempts is None:  # no side connection: count the attempt in this transaction
                job.attempts += 1
                job.state = JobState.VALIDATING
                job.started_at = timezone.now()
                job.save(update_fields=["attempts", "state", "started_at"])
            if job.attempts > MAX_ATTEMPTS:
                _fail(submission, job, f"Processing stopped the worker {MAX_ATTEMPTS} times; "
                                       "the file was not processed again.")
                return "failed"
            return _run(submission, job, progress)
    except (OperationalError, IntegrityError):
        raise  # the database went away or raced: the task retries, the version is absent
    except Exception as exc:
        logger.exception("Processing of submission %s failed", submission_id)
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=submission_id)
            if not submission.is_finished:
                job = SubmissionJob.objects.select_for_update().get(submission=submission)
                _fail(submission, job, f"Processing failed: {redact(str(exc))[:500]}")
        return "failed"
    finally:
        if progress is not None:
            progress.close()


def _run(submission: Submission, job: SubmissionJob, progress: JobProgress) -> str:
    snapshot, release = reference_snapshot_load()
    window = month_window(organisation_code=submission.organisation_id,
                          month=submission.activity_month, at=submission.as_of)
    context = CheckContext(submitting_org=submission.organisation_id,
                           month=submission.activity_month, as_of=submission.as_of,
                           dataset_version=None, final_deadline=window.final_deadline,
                           reopened=window.reopened)
    writer = VersionWriter(submission.pk, activity_month=submission.activity_month,
                           on_rows=progress.rows)
    with submission.file.open("rb") as handle:
        report = writer.load(lambda on_clean_batch, on_findings: validate(
            cast(IO[bytes], handle), context=context, reference=snapshot, on_clean_batch=on_clean_batch,
            on_findings=on_findings, max_findings=0, record_counts=False))
    if report.file_rejected and writer.records_written:
        writer.discard_records()
    submission.status = _outcome(report)
    submission.dataset_version = report.dataset_version or ""
    submission.rows = report.rows
    submission.accepted_rows = 0 if report.file_rejected else report.accepted_rows
    submission.rejected_rows = report.rows if report.file_rejected else report.rejected_rows
    submission.warning_count = _warning_count(report)
    submission.warned_rows = 0 if report.file_rejected else writer.warned_records
    submission.file_rejected = report.file_rejected
    submission.counts_by_rule = dict(report.counts_by_rule)
    submission.reference_release = release
    submission.ruleset_version = report.ruleset_version
    submission.processed_at = timezone.now()
    submission_assess(submission=submission, report=report, tally=writer.tally)
    replaced = None
    if submission.status in ACCEPTED_STATUSES:
        replaced = _make_live_if_newest(submission)
    reason = f"Validated: {submission.get_status_display().lower()}"
    if submission.is_live:
        reason += " and live" + (f" (replaces v{replaced.version})" if replaced else "")
    history_set(submission, actor=submission.submitted_by, reason=reason)
    submission.save()
    _audit_processed(submission, replaced)
    job.state = JobState.DONE
    job.rows_done = report.rows
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "rows_done", "finished_at"])
    logger.info("Submission %s processed: %s, %s rows, %s accepted", submission.pk,
                submission.status, report.rows, submission.accepted_rows)
    return str(submission.status)


def _audit_processed(submission: Submission, replaced: Submission | None) -> None:
    """The validation result and, if it changed, the live version (actor: the system)."""
    target = f"submission:{submission.pk}"
    audit_record(actor=None, action=AuditAction.SUBMISSION_VALIDATED,
                 organisation_code=submission.organisation_id, target=target,
                 after={**_audit_state(submission), "rows": submission.rows,
                        "accepted_rows": submission.accepted_rows,
                        "rejected_rows": submission.rejected_rows,
                        "failure_reason": submission.failure_reason or None})
    if submission.is_live:
        audit_record(actor=None, action=AuditAction.LIVE_VERSION_CHANGED,
                     organisation_code=submission.organisation_id, target=target,
                     before={"activity_month": f"{submission.activity_month:%Y-%m}",
                             "live_version": replaced.version if replaced else None},
                     after={"activity_month": f"{submission.activity_month:%Y-%m}",
                            "live_version": submission.version})


def _fail(submission: Submission, job: SubmissionJob, reason: str) -> None:
    submission.status = SubmissionStatus.FAILED
    submission.failure_reason = reason
    submission.processed_at = timezone.now()
    history_set(submission, actor=submission.submitted_by, reason="Processing failed")
    submission.save()
    _audit_processed(submission, None)
    job.state = JobState.FAILED
    job.error = reason
    job.finished_at = timezone.now()
    job.save()


@transaction.atomic
def submission_reprocess(*, actor: User, submission: Submission,
                         request: Any = None) -> Submission:
    """Queue a failed version again, from its stored file."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if submission.status != SubmissionStatus.FAILED:
        raise DomainError("Only a failed submission can be processed again.", code="not_failed",
                          status_code=409)
    before = {"status": str(submission.status), "failure_reason": submission.failure_reason}
    submission.status = SubmissionStatus.RECEIVED
    submission.failure_reason = ""
    history_set(submission, actor=actor, reason="Queued for processing again")
    submission.save()
    audit_record(actor=actor, action=AuditAction.SUBMISSION_REPROCESSED,
                 organisation_code=submission.organisation_id, request=request,
                 target=f"submission:{submission.pk}", before=before,
                 after={"status": str(submission.status)})
    SubmissionJob.objects.filter(submission=submission).update(
        state=JobState.QUEUED, attempts=0, rows_done=0, error="", started_at=None, finished_at=None)
    transaction.on_commit(lambda: _enqueue_processing(submission.pk))
    return submission


def submission_recover_stalled(*, queued_longer_than: timedelta | None = None,
                               enqueue: Callable[[int], Any] | None = None) -> list[int]:
    """Queue again the versions whose processing was lost; returns their ids.

    Celery redelivers an unacknowledged message only after the broker's visibility timeout
    (an hour), so a worker killed mid-load would leave its version waiting that long. A
    version is lost when it is unfinished, its job is queued (for longer than the threshold)
    or validating, and its row is *not* locked: the worker processing it holds the lock for
    the whole run, and a dead worker's lock goes with its connection. Queuing a version
    twice is harmless (processing is idempotent). Called when a worker starts
    (``worker_ready``) and by beat every minute (``recover_stalled_submissions``).
    """
    threshold = queued_longer_than or timedelta(
        seconds=getattr(settings, "DIDS_REQUEUE_QUEUED_AFTER_SECONDS", 120))
    cutoff = timezone.now() - threshold
    candidates = list(
        SubmissionJob.objects.filter(state__in=[JobState.QUEUED, JobState.VALIDATING])
        .exclude(submission__status__in=FINISHED_STATUSES)
        .values_list("submission_id", flat=True)[:1000])
    lost: list[int] = []
    for submission_id in candidates:
        with transaction.atomic():
            submission = (Submission.objects.select_for_update(skip_locked=True, of=("self",))
                          .filter(pk=submission_id).first())
            if submission is None or submission.is_finished:
                continue  # being processed now, or finished meanwhile
            job = SubmissionJob.objects.get(submission_id=submission_id)
            if job.state == JobState.QUEUED and job.queued_at > cutoff:
                continue  # most likely still in the queue
            if job.state not in (JobState.QUEUED, JobState.VALIDATING):
                continue
            lost.append(submission_id)
    run = enqueue or _enqueue_processing
    for submission_id in lost:
        logger.warning("Queuing submission %s again: its processing was lost", submission_id)
        run(submission_id)
    return lost
