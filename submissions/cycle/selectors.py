"""Reads of the monthly cycle: the compliance register, providers' month statuses, version
diffs (from ``diff``); the cut-offs and the statistics of a frozen product are read in
``cutoff_selectors``.

These functions decide nothing about who may see what: callers pass an organisation they
have already checked with ``submissions.selectors.visible_organisation_codes`` (providers)
or ``accounts.selectors.is_national`` (the register, statistics and extracts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.choices import PROVIDER_ROLES
from accounts.models import Membership
from dids_portal.lib.errors import DomainError
from reference.choices import PROVIDER_TYPES
from reference.models import Organisation
from submissions.choices import ACCEPTED_STATUSES, ComplianceState, SubmissionStatus
from submissions.cycle.diff import VersionDiff as VersionDiff
from submissions.cycle.diff import version_diff as version_diff
from submissions.cycle.timetable import Deadlines, add_months, default_deadlines, month_start
from submissions.models import (
    Reminder,
    ReportingPeriod,
    Submission,
)


def month_of(value: date | str) -> date:
    return month_start(value)


MAX_MONTHS = 120


def months_between(start: date, end: date) -> list[date]:
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise DomainError(f"Ask for at most {MAX_MONTHS} months at a time.", code="range_too_long")
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


def period_deadlines(months: list[date]) -> dict[date, Deadlines]:
    """Each month's deadlines: the timetable's row, or the defaults where it has none."""
    rows = {p.activity_month: Deadlines(p.provisional_deadline, p.final_deadline)
            for p in ReportingPeriod.objects.filter(activity_month__in=months)}
    return {m: rows.get(m) or default_deadlines(m) for m in months}


def in_scope(organisation: Organisation, month: date) -> bool:
    """A provider owes a month from its in-scope date (or always, if unset) until it leaves."""
    if organisation.type not in PROVIDER_TYPES:
        return False
    month_end = add_months(month, 1)
    if organisation.in_scope_from and organisation.in_scope_from >= month_end:
        return False
    ends = [d for d in (organisation.in_scope_to, organisation.closed) if d]
    return not (ends and min(ends) < month)


# The compliance register ----------------------------------------------------------------------

@dataclass
class MonthCell:
    organisation_code: str
    month: date
    state: str
    state_label: str
    provisional_deadline: datetime
    final_deadline: datetime
    live_submission_id: int | None = None
    live_version: int | None = None
    live_received_at: datetime | None = None
    quality: float | None = None
    versions: int = 0


@dataclass
class ComplianceRow:
    organisation_code: str
    name: str
    region: str
    type: str
    carried_to: str | None
    cells: list[MonthCell | None] = field(default_factory=list)


@dataclass
class ComplianceRegister:
    months: list[date]
    rows: list[ComplianceRow]


def _state(versions: list[dict[str, Any]], deadlines: Deadlines, month: date,
           now: datetime) -> str:
    accepted = [v for v in versions if v["status"] in ACCEPTED_STATUSES]
    if any(v["received_at"] <= deadlines.provisional for v in accepted):
        return ComplianceState.ON_TIME
    if accepted:
        return ComplianceState.LATE
    month_over = now.date() >= add_months(month, 1)
    if not month_over:
        return ComplianceState.NOT_DUE
    if any(v["status"] in (SubmissionStatus.REJECTED, SubmissionStatus.FAILED) for v in versions):
        return ComplianceState.REJECTED_ONLY
    return ComplianceState.DUE if now <= deadlines.final else ComplianceState.MISSING


def _quality(live: list[dict[str, Any]]) -> dict[int, float | None]:
    """Data-quality score of a version: the percentage of the file's rows that were accepted
    with no warning (records rejected or carrying a warning count against it). The count of
    warned records is stored with the version as it is stored (``warned_rows``)."""
    scores: dict[int, float | None] = {}
    for v in live:
        rows = v["rows"] or 0
        warned = (v["warned_rows"] or 0
                  if v["status"] == SubmissionStatus.ACCEPTED_WITH_WARNINGS else 0)
        clean = (v["accepted_rows"] or 0) - warned
        scores[v["id"]] = round(100 * clean / rows, 1) if rows else None
    return scores


def _organisations(region: str | None, organisation_type: str | None,
                   organisation_code: str | None) -> list[Organisation]:
    queryset = Organisation.objects.filter(type__in=PROVIDER_TYPES)
    if region:
        queryset = queryset.filter(region=region)
    if organisation_type:
        queryset = queryset.filter(type=organisation_type)
    if organisation_code:
        code = organisation_code.strip().upper()
        # A merged organisation's history is carried to its successor.
        queryset = queryset.filter(Q(code=code) | Q(successor_id=code))
    return list(queryset)


# A version as the register reads it: (organisation, month) -> versions, oldest first.
VersionsByMonth = dict[tuple[str, date], list[dict[str, Any]]]


def compliance_register(*, start: date | str, end: date | str, region: str | None = None,
                        organisation_type: str | None = None,
                        organisation_code: str | None = None,
                        now: datetime | None = None) -> ComplianceRegister:
    """Every in-scope provider x month from ``start`` to ``end``, with its SPEC 7 state.

    Organisations that merged are listed under their successor (``carried_to``), and
    filtering by the successor includes them. A cell is None where the organisation was not
    in scope that month.
    """
    return _register(start=start, end=end, region=region, organisation_type=organisation_type,
                     organisation_code=organisation_code, now=now)[0]


def _register(*, start: date | str, end: date | str, region: str | None,
              organisation_type: str | None, organisation_code: str | None,
              now: datetime | None) -> tuple[ComplianceRegister, VersionsByMonth]:
    """The register, and the versions it was made from (so callers need not read them again)."""
    now = now or timezone.now()
    months = months_between(month_of(start), month_of(end))
    deadlines = period_deadlines(months)
    organisations = [o for o in _organisations(region, organisation_type, organisation_code)
                     if any(in_scope(o, m) for m in months)]
    versions: VersionsByMonth = defaultdict(list)
    for v in Submission.objects.filter(
            organisation_id__in=[o.code for o in organisations],
            activity_month__in=months).values(
            "id", "organisation_id", "activity_month", "version", "status", "is_live",
            "received_at", "rows", "accepted_rows", "rejected_rows", "warned_rows").order_by(
            "version"):
        versions[(v["organisation_id"], v["activity_month"])].append(dict(v))
    live = [v for group in versions.values() for v in group if v["is_live"]]
    quality = _quality(live)
    labels = dict(ComplianceState.choices)
    rows = []
    for organisation in organisations:
        row = ComplianceRow(organisation.code, organisation.name, organisation.region,
                            organisation.type, organisation.successor_id)
        for month in months:
            if not in_scope(organisation, month):
                row.cells.append(None)
                continue
            group = versions.get((organisation.code, month), [])
            state = _state(group, deadlines[month], month, now)
            current = next((v for v in group if v["is_live"]), None)
            row.cells.append(MonthCell(
                organisation_code=organisation.code, month=month, state=state,
                state_label=labels[state], provisional_deadline=deadlines[month].provisional,
                final_deadline=deadlines[month].final,
                live_submission_id=current["id"] if current else None,
                live_version=current["version"] if current else None,
                live_received_at=current["received_at"] if current else None,
                quality=quality.get(current["id"]) if current else None, versions=len(group)))
        rows.append(row)
    rows.sort(key=lambda r: (r.carried_to or r.organisation_code, r.carried_to is not None,
                             r.organisation_code))
    return ComplianceRegister(months=months, rows=rows), versions


def compliance_csv_rows(register: ComplianceRegister) -> list[list[Any]]:
    """The register as one row per organisation and month (cells pass through csvsafe)."""
    rows: list[list[Any]] = [["organisation", "name", "region", "type", "carried_to", "month",
                              "state", "live_version", "live_received_at", "quality_percent",
                              "versions", "provisional_deadline", "final_deadline"]]
    for row in register.rows:
        for cell in row.cells:
            if cell is None:
                continue
            rows.append([row.organisation_code, row.name, row.region, row.type,
                         row.carried_to or "", f"{cell.month:%Y-%m}", cell.state,
                         cell.live_version or "",
                         cell.live_received_at.isoformat() if cell.live_received_at else "",
                         "" if cell.quality is None else cell.quality, cell.versions,
                         cell.provisional_deadline.isoformat(), cell.final_deadline.isoformat()])
    return rows


# Who still owes a month (the chase list) -----------------------------------------------------

# The states in which a provider still owes the month: it is over and nothing was accepted.
OWING_STATES = (ComplianceState.DUE, ComplianceState.REJECTED_ONLY, ComplianceState.MISSING)


@dataclass
class ChaseRow:
    organisation_code: str
    name: str
    region: str
    type: str
    carried_to: str | None
    state: str
    state_label: str
    versions: int
    # The active provider users (submitters and viewers) reminders go to, sorted.
    emails: list[str]
    # The last reminder of this month sent to the organisation, if any.
    reminded_at: datetime | None = None
    reminded_kind: str | None = None
    reminded_recipients: int | None = None


@dataclass
class ChaseList:
    month: date
    provisional_deadline: datetime
    final_deadline: datetime
    rows: list[ChaseRow]


def chase_list(*, month: date | str, region: str | None = None,
               organisation_type: str | None = None, now: datetime | None = None) -> ChaseList:
    """The providers that still owe ``month`` (due, rejected only or missing), with the
    e-mail addresses of their provider users and the last reminder they were sent for it.
    A fixed number of queries, whatever the number of providers."""
    register = compliance_register(start=month, end=month, region=region,
                                   organisation_type=organisation_type, now=now)
    the_month = register.months[0]
    cell = next((c for row in register.rows for c in row.cells if c is not None), None)
    deadlines = (Deadlines(cell.provisional_deadline, cell.final_deadline) if cell is not None
                 else period_deadlines([the_month])[the_month])
    owing = [(row, cell) for row in register.rows for cell in row.cells
             if cell is not None and cell.state in OWING_STATES]
    codes = [row.organisation_code for row, _ in owing]
    emails: dict[str, set[str]] = defaultdict(set)
    for code, email in Membership.objects.filter(
            organisation_id__in=codes, role__in=PROVIDER_ROLES,
            user__is_active=True).values_list("organisation_id", "user__email"):
        emails[code].add(email)
    last: dict[str, Reminder] = {}
    for sent in Reminder.objects.filter(period__activity_month=the_month,
                                        organisation_id__in=codes).order_by("sent_at", "pk"):
        last[sent.organisation_id] = sent
    rows = []
    for row, cell in owing:
        reminder = last.get(row.organisation_code)
        rows.append(ChaseRow(
            organisation_code=row.organisation_code, name=row.name, region=row.region,
            type=row.type, carried_to=row.carried_to, state=cell.state,
            state_label=cell.state_label, versions=cell.versions,
            emails=sorted(emails.get(row.organisation_code, ())),
            reminded_at=reminder.sent_at if reminder else None,
            reminded_kind=reminder.kind if reminder else None,
            reminded_recipients=reminder.recipients if reminder else None))
    return ChaseList(month=the_month, provisional_deadline=deadlines.provisional,
                     final_deadline=deadlines.final, rows=rows)


def chase_csv_rows(chase: ChaseList) -> list[list[Any]]:
    """The chase list as one row per organisation, its addresses joined with '; ' (cells pass
    through csvsafe)."""
    rows: list[list[Any]] = [["organisation", "name", "region", "type", "carried_to", "month",
                              "state", "versions", "final_deadline", "emails",
                              "last_reminder_kind", "last_reminder_sent_at",
                              "last_reminder_recipients"]]
    for row in chase.rows:
        rows.append([row.organisation_code, row.name, row.region, row.type,
                     row.carried_to or "", f"{chase.month:%Y-%m}", row.state, row.versions,
                     chase.final_deadline.isoformat(), "; ".join(row.emails),
                     row.reminded_kind or "",
                     row.reminded_at.isoformat() if row.reminded_at else "",
                     "" if row.reminded_recipients is None else row.reminded_recipients])
    return rows
