"""Reads of the national month: the timetable with each month's state, the cut-offs that ran
and those due next, whether a cut-off can run now, and what a final cut-off changed since the
provisional one.

Like the other cycle selectors these decide nothing about who may see what: the national
pages call them after checking ``accounts.selectors.is_national``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone

from submissions.choices import FINISHED_STATUSES, CutOffKind
from submissions.cycle.selectors import period_deadlines
from submissions.cycle.timetable import LONDON, add_months
from submissions.models import CutOff, PeriodReopening, Submission

# The timetable shows this many months back from the current one, and one ahead.
TIMETABLE_MONTHS = 12
KINDS: tuple[str, ...] = (CutOffKind.PROVISIONAL.value, CutOffKind.FINAL.value)


class MonthState:
    OPEN = "open"
    PROVISIONAL_TAKEN = "provisional_taken"
    FINAL_TAKEN = "final_taken"
    LOCKED = "locked"

    LABELS = {OPEN: "Open", PROVISIONAL_TAKEN: "Provisional taken",
              FINAL_TAKEN: "Final taken", LOCKED: "Locked"}
    COLOURS = {OPEN: "blue", PROVISIONAL_TAKEN: "yellow", FINAL_TAKEN: "green", LOCKED: "grey"}


@dataclass
class CutOffSlot:
    """One deadline of one month: the cut-off that ran at it, or when it is due."""

    month: date
    kind: str
    deadline: datetime
    cutoff: CutOff | None = None
    organisations: int | None = None

    @property
    def kind_label(self) -> str:
        return CutOffKind(self.kind).label

    @property
    def month_slug(self) -> str:
        return f"{self.month:%Y-%m}"


@dataclass
class TimetableMonth:
    month: date
    provisional_deadline: datetime
    final_deadline: datetime
    state: str
    slots: dict[str, CutOffSlot] = field(default_factory=dict)
    current_reopenings: int = 0

    @property
    def label(self) -> str:
        return MonthState.LABELS[self.state]

    @property
    def colour(self) -> str:
        return MonthState.COLOURS[self.state]

    @property
    def month_slug(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def editable(self) -> dict[str, bool]:
        """Which deadlines can still move: those whose cut-off has not run."""
        return {kind: self.slots[kind].cutoff is None for kind in KINDS}


def month_state(*, provisional: CutOff | None, final: CutOff | None, final_deadline: datetime,
                now: datetime) -> str:
    if final is not None:
        return MonthState.FINAL_TAKEN
    if now > final_deadline:
        return MonthState.LOCKED
    if provisional is not None:
        return MonthState.PROVISIONAL_TAKEN
    return MonthState.OPEN


def timetable_months(*, now: datetime | None = None,
                     count: int = TIMETABLE_MONTHS) -> list[TimetableMonth]:
    """The current month, the one after it, and ``count - 1`` before it, newest first, each
    with its deadlines (the timetable's row or the defaults), its cut-offs and its state.
    Three queries whatever the count."""
    now = now or timezone.now()
    this_month = now.astimezone(LONDON).date().replace(day=1)
    months = [add_months(this_month, back) for back in range(1, -count, -1)]
    deadlines = period_deadlines(months)
    cutoffs = {(c.period.activity_month, c.kind): c for c in CutOff.objects.filter(
        period__activity_month__in=months).select_related("period", "run_by")
        .defer("manifest", "statistics")}
    reopened: dict[date, int] = {}
    for month, n in (PeriodReopening.objects.filter(
            period__activity_month__in=months, granted_at__lte=now, expires_at__gt=now)
            .values("period__activity_month").annotate(n=Count("id"))
            .values_list("period__activity_month", "n")):
        reopened[month] = n
    result = []
    for month in months:
        d = deadlines[month]
        slots: dict[str, CutOffSlot] = {}
        for kind in KINDS:
            cutoff = cutoffs.get((month, kind))
            slots[kind] = CutOffSlot(month=month, kind=kind,
                                     deadline=d.final if kind == CutOffKind.FINAL else d.provisional,
                                     cutoff=cutoff,
                                     organisations=cutoff.organisation_count if cutoff else None)
        state = month_state(provisional=slots[CutOffKind.PROVISIONAL].cutoff,
                            final=slots[CutOffKind.FINAL].cutoff, final_deadline=d.final, now=now)
        result.append(TimetableMonth(month=month, provisional_deadline=d.provisional,
                                     final_deadline=d.final, state=state, slots=slots,
                                     current_reopenings=reopened.get(month, 0)))
    return result


@dataclass
class CutOffSchedule:
    taken: list[CutOffSlot]
    # Deadlines passed whose cut-off has not run (beat was down, or versions are processing).
    overdue: list[CutOffSlot]
    # The next deadlines still to come, soonest first.
    upcoming: list[CutOffSlot]


def cutoff_schedule(*, now: datetime | None = None, upcoming: int = 4) -> CutOffSchedule:
    """Every cut-off that has run (newest first), the deadlines passed in the timetable's
    window whose cut-off has not, and the next ``upcoming`` deadlines."""
    now = now or timezone.now()
    taken = [CutOffSlot(month=c.period.activity_month, kind=c.kind, deadline=c.deadline,
                        cutoff=c, organisations=c.organisation_count)
             for c in CutOff.objects.select_related("period", "run_by")
             .defer("manifest", "statistics")
             .order_by("-period__activity_month", "-deadline")]
    slots = [s for m in timetable_months(now=now, count=TIMETABLE_MONTHS + 6)
             for s in m.slots.values() if s.cutoff is None]
    started = _months_with_data_or_row({s.month for s in slots if s.deadline < now})
    overdue = sorted((s for s in slots if s.deadline < now and s.month in started),
                     key=lambda s: s.deadline)
    future = sorted((s for s in slots if s.deadline >= now), key=lambda s: s.deadline)
    return CutOffSchedule(taken=taken, overdue=overdue, upcoming=future[:upcoming])


def _months_with_data_or_row(months: set[date]) -> set[date]:
    # As cutoffs_run_due: a new installation does not owe cut-offs of months before it started.
    # Two queries for the whole window, whatever the months hold.
    from submissions.models import ReportingPeriod

    found = set(ReportingPeriod.objects.filter(activity_month__in=months)
                .values_list("activity_month", flat=True))
    found.update(Submission.objects.filter(activity_month__in=months).order_by()
                 .values_list("activity_month", flat=True).distinct())
    return found


@dataclass
class Readiness:
    can_run: bool
    reason: str = ""
    pending: int = 0


def cutoff_readiness(*, month: date, kind: str, deadline: datetime,
                     now: datetime | None = None) -> Readiness:
    """Whether a cut-off that has not run can run now, and if not, why not (in words)."""
    now = now or timezone.now()
    if now <= deadline:
        return Readiness(False, f"Its deadline, {deadline.astimezone(LONDON):%-d %B %Y %H:%M:%S} "
                                "(UK time), has not passed yet.")
    pending = (Submission.objects.filter(activity_month=month, received_at__lte=deadline)
               .exclude(status__in=FINISHED_STATUSES).count())
    if pending:
        return Readiness(False, f"{pending} version{'s' if pending != 1 else ''} received before "
                                "the deadline "
                                f"{'are' if pending != 1 else 'is'} still being processed; run "
                                "the cut-off when they finish.", pending)
    return Readiness(True)


@dataclass
class ManifestRow:
    organisation: str
    submission_id: int
    version: int
    received_at: datetime
    sha256: str
    rows: int | None
    dataset_version: str
    ruleset_version: str
    reference_release: str | None


def manifest_rows(cutoff: CutOff) -> list[ManifestRow]:
    return [ManifestRow(organisation=v["organisation"], submission_id=v["submission_id"],
                        version=v["version"],
                        received_at=datetime.fromisoformat(v["received_at"]), sha256=v["sha256"],
                        rows=v.get("accepted_rows"), dataset_version=v.get("dataset_version", ""),
                        ruleset_version=v.get("ruleset_version", ""),
                        reference_release=v.get("reference_release"))
            for v in cutoff.manifest.get("versions", [])]


@dataclass
class CutOffChanges:
    """What a final cut-off changed since the provisional one, from their manifests."""

    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    replaced: list[dict[str, Any]]
    records_before: int
    records_after: int

    @property
    def records_gained(self) -> int:
        return self.records_after - self.records_before

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.replaced)


def cutoff_changes(*, provisional: CutOff, final: CutOff) -> CutOffChanges:
    before = {v["organisation"]: v for v in provisional.manifest.get("versions", [])}
    after = {v["organisation"]: v for v in final.manifest.get("versions", [])}

    def rows(v: dict[str, Any] | None) -> int:
        return int((v or {}).get("accepted_rows") or 0)

    added = [{"organisation": code, "version": after[code]["version"], "rows": rows(after[code])}
             for code in sorted(after.keys() - before.keys())]
    removed = [{"organisation": code, "version": before[code]["version"],
                "rows": rows(before[code])} for code in sorted(before.keys() - after.keys())]
    replaced = [{"organisation": code, "from_version": before[code]["version"],
                 "to_version": after[code]["version"], "rows_before": rows(before[code]),
                 "rows_after": rows(after[code]),
                 "rows_change": rows(after[code]) - rows(before[code])}
                for code in sorted(before.keys() & after.keys())
                if before[code]["submission_id"] != after[code]["submission_id"]]
    return CutOffChanges(added=added, removed=removed, replaced=replaced,
                         records_before=provisional.record_count, records_after=final.record_count)
