"""Writes of the monthly cycle: the timetable, reopenings, cut-offs and reminders (extracts:
``submissions.cycle.extract_services``)."""

from __future__ import annotations

import functools
import logging
import subprocess
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.choices import PROVIDER_ROLES, AuditAction
from accounts.models import Membership, User
from dids_portal.lib.errors import DomainError
from dids_portal.lib.history import history_set
from dids_portal.lib.tasks import task_send
from reference.choices import PROVIDER_TYPES
from reference.models import Organisation, ReferenceRelease
from submissions.choices import ACCEPTED_STATUSES, FINISHED_STATUSES, CutOffKind
from submissions.cycle.product import products_write_missing
from submissions.cycle.selectors import compliance_register, in_scope, month_of
from submissions.cycle.statistics import CHECKSUM_METHOD, product_scan
from submissions.cycle.timetable import LONDON, add_months, default_deadlines, working_days_before
from submissions.models import (
    CutOff,
    CutOffVersion,
    PeriodReopening,
    Reminder,
    ReportingPeriod,
    Submission,
)

logger = logging.getLogger(__name__)

# Months the due-cut-off task looks back over: beat may have been down for a while.
CATCH_UP_MONTHS = 12
REMINDER_STATES = ("due", "not_due", "rejected_only")
PRODUCT_TASK = "submissions.tasks.write_product"


@functools.cache
def code_version() -> str:
    """The git commit the portal runs from, or its package version outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,  # noqa: S607
                                text=True, timeout=5, check=True).stdout.strip()
        if commit:
            return f"git:{commit}"
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return f"dids-portal {metadata.version('dids-portal')}"
    except metadata.PackageNotFoundError:
        return "unknown"


# The timetable --------------------------------------------------------------------------------

def period_ensure(*, month: date | str, actor: User | None = None) -> ReportingPeriod:
    """The timetable's row for a month, created with the default deadlines if it has none."""
    month = month_of(month)
    period = ReportingPeriod.objects.filter(activity_month=month).first()
    if period is not None:
        return period
    deadlines = default_deadlines(month)
    period = ReportingPeriod(activity_month=month, provisional_deadline=deadlines.provisional,
                             final_deadline=deadlines.final)
    history_set(period, actor=actor, reason="Default deadlines")
    try:
        with transaction.atomic():
            period.save()
    except IntegrityError:  # created by a parallel caller: theirs stands
        return ReportingPeriod.objects.get(activity_month=month)
    return period


def _period_state(period: ReportingPeriod) -> dict[str, str]:
    """What the audit trail keeps of a month's timetable row."""
    return {"provisional_deadline": period.provisional_deadline.isoformat(),
            "final_deadline": period.final_deadline.isoformat(), "notes": period.notes}


@transaction.atomic
def period_update(*, actor: User, month: date | str, provisional_deadline: datetime | None = None,
                  final_deadline: datetime | None = None, notes: str | None = None,
                  reason: str = "Timetable changed", request: Any = None) -> ReportingPeriod:
    """Change a month's deadlines; a deadline whose cut-off has run cannot move."""
    period = ReportingPeriod.objects.select_for_update().get(pk=period_ensure(month=month).pk)
    taken = set(period.cutoffs.values_list("kind", flat=True))
    changes = {"provisional": provisional_deadline, "final": final_deadline}
    for kind, value in changes.items():
        if value is not None and kind in taken and value != period.deadline(kind):
            raise DomainError(f"The {kind} cut-off of {period} has run; its deadline is fixed.",
                              code="cutoff_taken", status_code=409)
    before = _period_state(period)
    if provisional_deadline is not None:
        period.provisional_deadline = provisional_deadline
    if final_deadline is not None:
        period.final_deadline = final_deadline
    if notes is not None:
        period.notes = notes
    period.full_clean()
    history_set(period, actor=actor, reason=reason)
    period.save()
    audit_record(actor=actor, action=AuditAction.REFERENCE_CHANGED, target=f"period:{period}",
                 request=request, before=before, after={**_period_state(period), "reason": reason})
    return period


@transaction.atomic
def period_reopen(*, actor: User, organisation_code: str, month: date | str, reason: str,
                  expires_at: datetime, request: Any = None) -> PeriodReopening:
    """Let one organisation submit for a locked month until ``expires_at`` (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the month is reopened.", code="reason_required")
    now = timezone.now()
    if expires_at <= now:
        raise DomainError("The reopening must expire in the future.", code="invalid_expiry")
    organisation = Organisation.objects.filter(code=organisation_code.strip().upper()).first()
    if organisation is None:
        raise DomainError(f"Unknown organisation {organisation_code!r}.",
                          code="unknown_organisation", status_code=404)
    period = period_ensure(month=month, actor=actor)
    reopening = PeriodReopening(period=period, organisation=organisation, reason=reason,
                                expires_at=expires_at, granted_by=actor, granted_at=now)
    history_set(reopening, actor=actor, reason=f"Reopened: {reason}")
    reopening.save()
    audit_record(actor=actor, action=AuditAction.PERIOD_REOPENED, request=request,
                 organisation_code=organisation.code, target=f"period:{period}",
                 after={"reason": reason, "expires_at": expires_at.isoformat()})
    logger.info("%s reopened %s for %s until %s", actor, period, organisation.code, expires_at)
    return reopening


@transaction.atomic
def period_reopening_end(*, actor: User, reopening_id: int, reason: str,
                         request: Any = None) -> PeriodReopening:
    """End a current reopening now, before its expiry (audited with the expiry it had)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the reopening ends early.", code="reason_required")
    reopening = (PeriodReopening.objects.select_for_update().select_related("period")
                 .filter(pk=reopening_id).first())
    if reopening is None:
        raise DomainError("No such reopening.", code="not_found", status_code=404)
    now = timezone.now()
    if not reopening.is_current(now):
        raise DomainError("This reopening is not current: only a current one can be ended.",
                          code="not_current", status_code=409)
    before = {"expires_at": reopening.expires_at.isoformat()}
    reopening.expires_at = now
    reopening.ended_at = now
    reopening.ended_by = actor
    reopening.end_reason = reason
    history_set(reopening, actor=actor, reason=f"Ended early: {reason}"[:100])
    reopening.save()
    audit_record(actor=actor, action=AuditAction.PERIOD_REOPENING_ENDED,
                 organisation_code=reopening.organisation_id, target=f"period:{reopening.period}",
                 before=before, after={"expires_at": now.isoformat(), "reason": reason},
                 request=request)
    return reopening


# Cut-offs -------------------------------------------------------------------------------------

def _live_at(month: date, deadline: datetime) -> list[Submission]:
    """For each organisation, the newest accepted version received at or before the deadline."""
    versions = (Submission.objects.filter(activity_month=month, received_at__lte=deadline,
                                          status__in=ACCEPTED_STATUSES)
                .select_related("reference_release").order_by("organisation_id", "-version"))
    newest: dict[str, Submission] = {}
    for version in versions:
        newest.setdefault(version.organisation_id, version)
    return [newest[code] for code in sorted(newest)]


def period_cut_off(*, actor: User | None, month: date | str, kind: str,
                   run_by_label: str = "", now: datetime | None = None,
                   ignore_pending: bool = False, request: Any = None) -> tuple[CutOff, bool]:
    """Freeze the month's product at its ``kind`` deadline; returns (cut-off, created).

    Idempotent: the period row is locked, so a second run (or a second beat) waits and then
    finds the product already frozen, and returns it. Refused before the deadline, and while
    a version received before it is still being processed (unless ``ignore_pending``).
    """
    if kind not in CutOffKind.values:
        raise DomainError(f"The cut-off is provisional or final, not {kind!r}.", code="invalid_kind")
    now = now or timezone.now()
    period = period_ensure(month=month, actor=actor)
    with transaction.atomic():
        period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
        existing = CutOff.objects.filter(period=period, kind=kind).first()
        if existing is not None:
            return existing, False
        deadline = period.deadline(kind)
        if now <= deadline:
            raise DomainError(f"The {kind} deadline of {period} is "
                              f"{deadline.astimezone(LONDON):%d %B %Y %H:%M:%S} (UK time); "
                              "its cut-off can run only after it.", code="not_due", status_code=409)
        pending = Submission.objects.filter(activity_month=period.activity_month,
                                            received_at__lte=deadline).exclude(
            status__in=FINISHED_STATUSES)
        if pending.exists() and not ignore_pending:
            raise DomainError(f"{pending.count()} version(s) received before the deadline are "
                              "still being processed; run the cut-off when they finish.",
                              code="versions_pending", status_code=409)
        included = _live_at(period.activity_month, deadline)
        scanned = product_scan([v.pk for v in included], month=period.activity_month)
        in_scope_codes = sorted(o.code for o in Organisation.objects.filter(type__in=PROVIDER_TYPES)
                                if in_scope(o, period.activity_month))
        included_codes = {v.organisation_id for v in included}
        label = run_by_label or (str(actor) if actor else "command line")
        release = ReferenceRelease.objects.first()
        manifest = {
            "month": f"{period.activity_month:%Y-%m}", "kind": kind,
            "deadline": deadline.isoformat(), "taken_at": now.isoformat(),
            "run_by": label, "run_by_user": actor.pk if actor else None,
            "code_version": code_version(),
            "reference_release_now": release.label if release else None,
            "records": scanned["total"], "records_checksum": scanned["checksum"],
            "checksum_method": CHECKSUM_METHOD,
            "organisations_in_scope": in_scope_codes,
            "versions": [{
                "organisation": v.organisation_id, "submission_id": v.pk, "version": v.version,
                "sha256": v.sha256, "dataset_version": v.dataset_version,
                "ruleset_version": v.ruleset_version,
                "reference_release": v.reference_release.label if v.reference_release else None,
                "received_at": v.received_at.isoformat(), "accepted_rows": v.accepted_rows,
            } for v in included],
        }
        statistics = {k: scanned[k] for k in ("total", "by_modality", "by_provider",
                                              "by_provider_modality", "by_source_setting",
                                              "waits")}
        covered = len(included_codes & set(in_scope_codes))
        statistics["coverage"] = {
            "organisations_in_scope": len(in_scope_codes), "organisations_included": covered,
            "share": round(covered / len(in_scope_codes), 4) if in_scope_codes else None}
        cutoff = CutOff.objects.create(
            period=period, kind=kind, deadline=deadline, taken_at=now, run_by=actor,
            run_by_label=label[:100], code_version=code_version()[:80],
            record_count=scanned["total"], records_checksum=scanned["checksum"],
            organisation_count=len(included), manifest=manifest, statistics=statistics)
        CutOffVersion.objects.bulk_create(
            CutOffVersion(cutoff=cutoff, organisation_id=v.organisation_id, submission=v)
            for v in included)
        audit_record(actor=actor, action=AuditAction.PERIOD_CUT_OFF, target=f"cutoff:{cutoff.pk}",
                     request=request, after={"month": manifest["month"], "kind": kind, "run_by": label,
                            "versions": len(included), "records": scanned["total"],
                            "records_checksum": scanned["checksum"]})
        # The product as Parquet for the national data platform, written by the extracts
        # worker once the cut-off commits (beat writes any a lost worker left unwritten).
        transaction.on_commit(functools.partial(task_send, PRODUCT_TASK, cutoff.pk))
    logger.info("Cut-off %s %s: %s versions, %s records", period, kind, len(included),
                scanned["total"])
    return cutoff, True


def cutoffs_run_due(*, now: datetime | None = None, label: str = "celery beat") -> list[CutOff]:
    """Run every cut-off whose deadline has passed and which has not run, over the last
    ``CATCH_UP_MONTHS`` months (so a beat that was down catches up). Months with versions
    still processing are left for the next run."""
    now = now or timezone.now()
    today = now.astimezone(LONDON).date().replace(day=1)
    done = []
    for back in range(CATCH_UP_MONTHS + 7, 0, -1):
        month = add_months(today, -back)
        for kind in (CutOffKind.PROVISIONAL, CutOffKind.FINAL):
            period = ReportingPeriod.objects.filter(activity_month=month).first()
            deadline = period.deadline(kind) if period else getattr(default_deadlines(month), kind)
            if deadline >= now or deadline < now - timedelta(days=31 * CATCH_UP_MONTHS):
                continue
            if CutOff.objects.filter(period__activity_month=month, kind=kind).exists():
                continue
            # Only months the portal has a timetable row or data for: a new installation does
            # not freeze empty products of months from before it started.
            if period is None and not Submission.objects.filter(activity_month=month).exists():
                continue
            try:
                cutoff, created = period_cut_off(actor=None, month=month, kind=kind,
                                                 run_by_label=label, now=now)
            except DomainError as exc:
                logger.warning("Cut-off %s %s not run: %s", f"{month:%Y-%m}", kind, exc.message)
                continue
            if created:
                done.append(cutoff)
    products_write_missing(since=add_months(today, -CATCH_UP_MONTHS))
    return done


# Reminders ------------------------------------------------------------------------------------

def reminders_send(*, now: datetime | None = None, days_before: int | None = None) -> int:
    """E-mail the provider users of every organisation that still owes a month whose deadline
    is ``days_before`` working days from today. Once per organisation and deadline."""
    now = now or timezone.now()
    days_before = settings.DIDS_REMINDER_WORKING_DAYS if days_before is None else days_before
    today = now.astimezone(LONDON).date()
    this_month = today.replace(day=1)
    sent = 0
    for month in [add_months(this_month, -back) for back in range(1, 8)]:
        period = period_ensure(month=month)
        for kind in (CutOffKind.PROVISIONAL, CutOffKind.FINAL):
            deadline_day = period.deadline(kind).astimezone(LONDON).date()
            # From N working days before the deadline until it: a beat that was down on the
            # day still sends, and the Reminder rows keep it to once.
            if not working_days_before(deadline_day, days_before) <= today <= deadline_day:
                continue
            sent += _remind(period, kind, now)
    return sent


def _remind(period: ReportingPeriod, kind: str, now: datetime) -> int:
    register = compliance_register(start=period.activity_month, end=period.activity_month,
                                   now=now)
    owing = [row.organisation_code for row in register.rows
             if row.cells[0] is not None and row.cells[0].state in REMINDER_STATES]
    deadline = period.deadline(kind).astimezone(LONDON)
    messages = []
    count = 0
    for code in owing:
        try:
            with transaction.atomic():
                reminder = Reminder.objects.create(period=period, kind=kind, organisation_id=code)
        except IntegrityError:
            continue  # reminded already
        emails = sorted(set(Membership.objects.filter(
            organisation_id=code, role__in=PROVIDER_ROLES, user__is_active=True)
            .values_list("user__email", flat=True)))
        reminder.recipients = len(emails)
        reminder.save(update_fields=["recipients"])
        if not emails:
            continue
        subject = f"DIDS: {period.activity_month:%B %Y} data due by {deadline:%d %B %Y}"
        body = (f"The DIDS portal has no accepted file from {code} for activity in "
                f"{period.activity_month:%B %Y}.\n\nThe {kind} deadline is "
                f"{deadline:%H:%M:%S on %A %d %B %Y} (UK time). Please submit before then.\n")
        messages.append((subject, body, None, emails))
        count += 1
    if messages:
        send_mass_mail(messages, fail_silently=False)
    return count


def month_range_default(now: datetime | None = None) -> tuple[date, date]:
    now = now or timezone.now()
    end = now.astimezone(LONDON).date().replace(day=1)
    return add_months(end, -11), end
