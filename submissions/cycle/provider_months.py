"""A provider's own months (``/api/months/`` and the months page): each month's state, its
versions, which one is live, which version each cut-off took and whether it is reopened.

A RIS polls this as it polls ``/api/submissions/``. Six ORM queries (the timetable, the
organisation, the versions, the cut-offs, what each took, the reopenings), each built and
compiled per request and read into model objects, cost several times the bare Django
response, so the data is read in two SQL statements written once per process and database:
the organisation with its versions of the months, then the timetable rows of the months with
their cut-offs, what each took of this organisation and its reopening. Their values pass
through the converters the ORM would apply to the same columns (SQLite's dates, times and
booleans), and the states come from the register's own functions, so the answer is the one
the compliance register gives (a test holds the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connections, router
from django.utils import timezone

from reference.choices import PROVIDER_TYPES
from reference.models import Organisation
from submissions.choices import ComplianceState
from submissions.cycle.selectors import _quality, _state, in_scope, month_of, months_between
from submissions.cycle.timetable import Deadlines, add_months, default_deadlines
from submissions.models import CutOff, CutOffVersion, PeriodReopening, ReportingPeriod, Submission


@dataclass
class ProviderMonth:
    month: date
    state: str
    state_label: str
    provisional_deadline: datetime
    final_deadline: datetime
    locked: bool
    reopened_until: datetime | None
    live_submission_id: int | None
    live_version: int | None
    quality: float | None
    # Newest first: id, version, status, is_live, received_at, rows, accepted_rows, rejected_rows.
    versions: list[dict[str, Any]]
    # kind -> {"cutoff_id", "taken_at", "submission_id", "version"} (version None: nothing
    # taken); a kind whose cut-off has not run is absent.
    cutoffs: dict[str, dict[str, Any]]


# The versions' columns the answer shows, in its order, and the ones the state also reads.
SHOWN = ("id", "version", "status", "is_live", "received_at", "rows", "accepted_rows",
         "rejected_rows")
VERSION_COLUMNS = ("activity_month", *SHOWN, "warned_rows")
SCOPE_COLUMNS = ("type", "in_scope_from", "in_scope_to", "closed")

Converters = list[tuple[int, list[Any], Any]]
Statement = tuple[str, Converters]
_STATEMENTS: dict[tuple[str, str], Statement] = {}


def _converters(db: Any, fields: list[Any]) -> Converters:
    """The ORM's converters of these columns' values on this database, by position."""
    found = []
    for position, field in enumerate(fields):
        expression = field.get_col(field.model._meta.db_table)
        functions = db.ops.get_db_converters(expression) + expression.get_db_converters(db)
        if functions:
            found.append((position, functions, expression))
    return found


def _statements(alias: str) -> tuple[Statement, Statement]:
    if (alias, "versions") not in _STATEMENTS:
        db = connections[alias]

        def name(model: Any, column: str) -> str:
            table = db.ops.quote_name(model._meta.db_table)
            return f"{table}.{db.ops.quote_name(model._meta.get_field(column).column)}"

        org, sub = Organisation, Submission
        fields: list[Any] = ([org._meta.get_field(c) for c in SCOPE_COLUMNS]
                  + [sub._meta.get_field(c) for c in VERSION_COLUMNS])
        columns = ", ".join(name(f.model, f.name) for f in fields)
        types = ", ".join(["%s"] * len(PROVIDER_TYPES))
        # Only the models' own quoted table and column names are written in; values are params.
        versions = (
            f"SELECT {columns} FROM {db.ops.quote_name(org._meta.db_table)} "  # noqa: S608
            f"LEFT OUTER JOIN {db.ops.quote_name(sub._meta.db_table)} "
            f"ON ({name(sub, 'organisation')} = {name(org, 'code')} "
            f"AND {name(sub, 'activity_month')} >= %s AND {name(sub, 'activity_month')} <= %s) "
            f"WHERE {name(org, 'code')} = %s AND {name(org, 'type')} IN ({types}) "
            f"ORDER BY {name(sub, 'version')} ASC")
        _STATEMENTS[(alias, "versions")] = (versions, _converters(db, fields))
        period, cut, took, reopening = ReportingPeriod, CutOff, CutOffVersion, PeriodReopening
        until = (f"(SELECT MAX({name(reopening, 'expires_at')}) FROM "  # noqa: S608
                 f"{db.ops.quote_name(reopening._meta.db_table)} WHERE "
                 f"{name(reopening, 'period')} = {name(period, 'id')} AND "
                 f"{name(reopening, 'organisation')} = %s AND "
                 f"{name(reopening, 'expires_at')} > %s AND {name(reopening, 'granted_at')} <= %s)")
        fields = [period._meta.get_field(c) for c in
                  ("activity_month", "provisional_deadline", "final_deadline")]
        fields += [cut._meta.get_field(c) for c in ("id", "kind", "taken_at")]
        fields += [took._meta.get_field("submission"), sub._meta.get_field("version"),
                   reopening._meta.get_field("expires_at")]
        columns = ", ".join(name(f.model, f.name) for f in fields[:-1])
        periods = (
            f"SELECT {columns}, {until} FROM {db.ops.quote_name(period._meta.db_table)} "  # noqa: S608
            f"LEFT OUTER JOIN {db.ops.quote_name(cut._meta.db_table)} "
            f"ON ({name(cut, 'period')} = {name(period, 'id')}) "
            f"LEFT OUTER JOIN {db.ops.quote_name(took._meta.db_table)} "
            f"ON ({name(took, 'cutoff')} = {name(cut, 'id')} AND {name(took, 'organisation')} = %s) "
            f"LEFT OUTER JOIN {db.ops.quote_name(sub._meta.db_table)} "
            f"ON ({name(sub, 'id')} = {name(took, 'submission')}) "
            f"WHERE {name(period, 'activity_month')} >= %s AND "
            f"{name(period, 'activity_month')} <= %s "
            f"ORDER BY {name(period, 'activity_month')} ASC, {name(cut, 'kind')} ASC")
        _STATEMENTS[(alias, "periods")] = (periods, _converters(db, fields))
    return _STATEMENTS[(alias, "versions")], _STATEMENTS[(alias, "periods")]


def _read(db: Any, statement: Statement, params: list[Any]) -> list[list[Any]]:
    sql, converters = statement
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    for values in rows:
        for position, functions, expression in converters:
            value = values[position]
            for function in functions:
                value = function(value, expression, db)
            values[position] = value
    return rows


def _window(start: date | str | None, end: date | str | None, today: date) -> list[date]:
    """The months asked for; by default the 12 to this one."""
    end_month = month_of(end) if end else today.replace(day=1)
    start_month = month_of(start) if start else add_months(end_month, -11)
    return months_between(start_month, end_month)


def provider_month_statuses(*, organisation_code: str, start: date | str | None = None,
                            end: date | str | None = None,
                            now: datetime | None = None) -> list[ProviderMonth]:
    """Each month's status for one organisation, newest first: its state, its versions,
    which one is live, and which version each cut-off took. Default: the last 12 months.
    An organisation that is not a provider in scope in any of the months has none."""
    now = now or timezone.now()
    code = organisation_code.strip().upper()
    months = _window(start, end, now.date())
    if not months:
        return []
    alias = router.db_for_read(Submission)
    db = connections[alias]
    first, last = db.ops.adapt_datefield_value(months[0]), db.ops.adapt_datefield_value(months[-1])
    versions_sql, periods_sql = _statements(alias)
    rows = _read(db, versions_sql, [first, last, code, *PROVIDER_TYPES])
    if not rows:
        return []
    kind, scope_from, scope_to, closed = rows[0][:4]
    organisation = Organisation(code=code, type=kind, in_scope_from=scope_from,
                                in_scope_to=scope_to, closed=closed)
    if not any(in_scope(organisation, m) for m in months):
        return []
    read: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        if row[4] is not None:  # the LEFT JOIN's row of an organisation with no versions
            read.setdefault(row[4], []).append(dict(zip(VERSION_COLUMNS[1:], row[5:],
                                                        strict=True)))
    moment = db.ops.adapt_datetimefield_value(now)
    deadlines: dict[date, Deadlines] = {}
    taken: dict[date, dict[str, dict[str, Any]]] = {}
    reopened: dict[date, datetime] = {}
    for (month, provisional, final, cutoff_id, cutoff_kind, taken_at, submission_id, version,
         until) in _read(db, periods_sql, [code, moment, moment, code, first, last]):
        deadlines[month] = Deadlines(provisional, final)
        if until is not None:
            reopened[month] = until
        if cutoff_id is not None:
            taken.setdefault(month, {})[cutoff_kind] = {
                "cutoff_id": cutoff_id, "taken_at": taken_at, "submission_id": submission_id,
                "version": version}
    live = [v for group in read.values() for v in group if v["is_live"]]
    quality = _quality(live)
    labels = dict(ComplianceState.choices)
    statuses = []
    for month in reversed(months):
        if not in_scope(organisation, month):
            continue
        group = read.get(month, [])
        due = deadlines.get(month) or default_deadlines(month)
        state = _state(group, due, month, now)
        current = next((v for v in group if v["is_live"]), None)
        until = reopened.get(month)
        statuses.append(ProviderMonth(
            month=month, state=state, state_label=labels[state],
            provisional_deadline=due.provisional, final_deadline=due.final,
            locked=now > due.final and until is None, reopened_until=until,
            live_submission_id=current["id"] if current else None,
            live_version=current["version"] if current else None,
            quality=quality.get(current["id"]) if current else None,
            versions=[{k: v[k] for k in SHOWN} for v in reversed(group)],
            cutoffs=taken.get(month, {})))
    return statuses
