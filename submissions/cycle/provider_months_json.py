"""``/api/months/``'s list of months as JSON text written by PostgreSQL in one statement.

The endpoint's cost was the Python around its two statements: their rows read into lists and
converted, a dataclass a month, ``_plain`` over every value and DRF's renderer over the
result. Here one statement reads the organisation, the months in scope, their timetable rows,
versions, live version, cut-offs and reopenings, works out each month's state as the
register's ``_state`` does, and writes the months as the compact JSON the renderer would
have written (keys in the same order, datetimes as ``isoformat()`` in UTC, ``null`` for
None), which the view passes through. What PostgreSQL would write differently is left to
the Python path (``provider_month_statuses``), which stays the reference and serves SQLite:

- a month without a timetable row has the default deadlines, worked out in Python from the
  bank holidays (cached per month) and passed in with their London-time ``isoformat()``;
- the quality is ``round(100 * clean / rows, 1)``: PostgreSQL rounds the exact quotient,
  Python the nearest double, which agree except on an exact tie (..5 at the second decimal)
  or a count outside 0..rows; the statement says so and the caller falls back.

A test holds the body byte for byte equal to the Python path's on PostgreSQL.
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime
from typing import Any

from django.db import connections, router
from django.utils import timezone

from dids_portal.lib import prepared
from reference.choices import PROVIDER_TYPES
from reference.models import Organisation
from submissions.choices import ACCEPTED_STATUSES, ComplianceState, SubmissionStatus
from submissions.cycle.provider_months import _window
from submissions.cycle.timetable import default_deadlines
from submissions.models import CutOff, CutOffVersion, PeriodReopening, ReportingPeriod, Submission


class _Table:
    """A model's quoted table name in ``{T}`` and its quoted columns in ``{T.field}``."""

    def __init__(self, db: Any, model: Any, alias: str) -> None:
        self.db, self.model, self.alias = db, model, alias

    def __format__(self, spec: str) -> str:
        return f"{self.db.ops.quote_name(self.model._meta.db_table)} {self.alias}"

    def __getattr__(self, field: str) -> str:
        column = self.model._meta.get_field(field).column
        return f"{self.alias}.{self.db.ops.quote_name(column)}"


def _iso(column: str) -> str:
    """SQL of a timestamptz as Python's ``isoformat()`` of it in UTC, quoted; or null."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (f"COALESCE('\"' || to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"date_trunc('second', {utc}) <> {utc} THEN to_char({utc}, '.US') ELSE '' END "
            f"|| '+00:00\"', 'null')")


def _number(column: str) -> str:
    return f"COALESCE(({column})::text, 'null')"


# Each month as the renderer writes a ProviderMonth, the versions and cut-offs as sub-lists;
# read by range and grouped (not a subquery a month), which PostgreSQL plans and runs quickly.
_STATEMENT = """
WITH t AS (
  SELECT d.month, {P.id} AS period_id,
    CASE WHEN {P.id} IS NULL THEN d.provisional::timestamptz ELSE {P.provisional_deadline} END
      AS provisional_at,
    CASE WHEN {P.id} IS NULL THEN d.final::timestamptz ELSE {P.final_deadline} END AS final_at,
    CASE WHEN {P.id} IS NULL THEN '"' || d.provisional || '"' ELSE {provisional_iso} END
      AS provisional_text,
    CASE WHEN {P.id} IS NULL THEN '"' || d.final || '"' ELSE {final_iso} END AS final_text
  FROM {O} CROSS JOIN json_to_recordset(%(months)s::json)
    AS d(month date, provisional text, final text)
  LEFT JOIN {P} ON {P.activity_month} = d.month
  WHERE {O.code} = %(code)s AND {O.type} IN ({types})
    AND ({O.in_scope_from} IS NULL OR {O.in_scope_from} < d.month + interval '1 month')
    AND NOT COALESCE(LEAST({O.in_scope_to}, {O.closed}) < d.month, false)
), v AS (
  SELECT t.month, bool_or({S.status} IN ({accepted})) AS accepted,
    bool_or({S.status} IN ({accepted}) AND {S.received_at} <= t.provisional_at) AS on_time,
    bool_or({S.status} IN ({rejected})) AS rejected,
    string_agg('{{"id":' || {S.id} || ',"version":' || {S.version} || ',"status":'
      || to_json({S.status})::text || ',"is_live":'
      || CASE WHEN {S.is_live} THEN 'true' ELSE 'false' END || ',"received_at":'
      || {received_iso} || ',"rows":' || {rows} || ',"accepted_rows":' || {accepted_rows}
      || ',"rejected_rows":' || {rejected_rows} || '}}', ',' ORDER BY {S.version} DESC)
      AS versions,
    max({S.id}) FILTER (WHERE {S.is_live}) AS live_id,
    max({S.version}) FILTER (WHERE {S.is_live}) AS live_version,
    max(CASE WHEN {live_rows} = 0 THEN NULL ELSE round(100.0 * {clean} / {live_rows}, 1) END)
      FILTER (WHERE {S.is_live}) AS quality,
    bool_and({live_rows} = 0 OR ({clean} BETWEEN 0 AND {live_rows}
      AND mod(2000 * {clean}, 2 * {live_rows}) <> {live_rows})) FILTER (WHERE {S.is_live})
      AS exact
  FROM t JOIN {S} ON {S.organisation} = %(code)s AND {S.activity_month} = t.month
  GROUP BY t.month
), c AS (
  SELECT {C.period} AS period_id, string_agg(to_json({C.kind})::text || ':{{"cutoff_id":'
      || {C.id} || ',"taken_at":' || {taken_iso} || ',"submission_id":' || {taken_submission}
      || ',"version":' || {taken_version} || '}}', ',' ORDER BY {C.kind}) AS cutoffs
  FROM t JOIN {C} ON {C.period} = t.period_id
    LEFT JOIN {V} ON {V.cutoff} = {C.id} AND {V.organisation} = %(code)s
    LEFT JOIN {T} ON {T.id} = {V.submission}
  GROUP BY {C.period}
), r AS (
  SELECT {R.period} AS period_id, max({R.expires_at}) AS until
  FROM t JOIN {R} ON {R.period} = t.period_id
  WHERE {R.organisation} = %(code)s AND {R.expires_at} > %(now)s AND {R.granted_at} <= %(now)s
  GROUP BY {R.period}
)
SELECT '[' || COALESCE(string_agg('{{"month":"' || to_char(t.month, 'YYYY-MM-DD') || '",'
    || CASE WHEN v.on_time THEN {on_time} WHEN v.accepted THEN {late}
      WHEN %(today)s < t.month + interval '1 month' THEN {not_due}
      WHEN v.rejected THEN {rejected_only} WHEN %(now)s <= t.final_at THEN {due}
      ELSE {missing} END
    || ',"provisional_deadline":' || t.provisional_text || ',"final_deadline":' || t.final_text
    || ',"locked":' || CASE WHEN %(now)s > t.final_at AND r.until IS NULL THEN 'true'
      ELSE 'false' END
    || ',"reopened_until":' || {until_iso} || ',"live_submission_id":' || {live_id}
    || ',"live_version":' || {live_version} || ',"quality":' || {quality}
    || ',"versions":[' || COALESCE(v.versions, '') || '],"cutoffs":{{'
    || COALESCE(c.cutoffs, '') || '}}}}', ',' ORDER BY t.month DESC), '') || ']',
  COALESCE(bool_and(v.exact), true)
FROM t LEFT JOIN v ON v.month = t.month LEFT JOIN c ON c.period_id = t.period_id
  LEFT JOIN r ON r.period_id = t.period_id
"""


def _literal(value: str) -> str:
    """A constant of the code (a choice's value or label) as an SQL string literal."""
    return "'" + value.replace("'", "''").replace("%", "%%") + "'"


def _json(value: str) -> str:
    """A string as DRF's JSONRenderer writes it (unescaped non-ASCII, U+2028/9 escaped)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _states() -> dict[str, str]:
    """Each state's ``"state":...,"state_label":...`` as an SQL literal."""
    return {str(state): _literal(f'"state":{_json(str(state))},"state_label":{_json(str(label))}')
            for state, label in ComplianceState.choices}


def _in(values: Any) -> str:
    return ", ".join(_literal(str(v)) for v in values)


@functools.cache
def _statement(alias: str) -> str:
    db = connections[alias]
    org, period, version = (_Table(db, Organisation, "o"), _Table(db, ReportingPeriod, "p"),
                            _Table(db, Submission, "s"))
    cutoff, took, taken = (_Table(db, CutOff, "c"), _Table(db, CutOffVersion, "cv"),
                           _Table(db, Submission, "cs"))
    rows = f"COALESCE({version.rows}, 0)"
    warned = _literal(str(SubmissionStatus.ACCEPTED_WITH_WARNINGS))
    clean = (f"(COALESCE({version.accepted_rows}, 0)::bigint - CASE WHEN {version.status} = "
             f"{warned} THEN COALESCE({version.warned_rows}, 0) ELSE 0 END)")
    # The models' own quoted names and the code's constants are written in; values are params.
    return " ".join(_STATEMENT.split()).format(
        O=org, P=period, S=version, R=_Table(db, PeriodReopening, "r"), C=cutoff, V=took,
        T=taken, types=_in(PROVIDER_TYPES), accepted=_in(ACCEPTED_STATUSES),
        rejected=_in((SubmissionStatus.REJECTED, SubmissionStatus.FAILED)),
        live_rows=rows, clean=clean, **_states(),
        provisional_iso=_iso(period.provisional_deadline), final_iso=_iso(period.final_deadline),
        received_iso=_iso(version.received_at), rows=_number(version.rows),
        accepted_rows=_number(version.accepted_rows),
        rejected_rows=_number(version.rejected_rows), taken_iso=_iso(cutoff.taken_at),
        taken_submission=_number(took.submission), taken_version=_number(taken.version),
        until_iso=_iso("r.until"), live_id=_number("v.live_id"),
        live_version=_number("v.live_version"), quality=_number("v.quality"))


# Planning the statement costs PostgreSQL more than running it: prepared once a connection
# where connections persist (dids_portal.lib.prepared).
NAME = "dids_provider_months"
PARAMETERS = (("months", "json"), ("code", "text"), ("today", "date"), ("now", "timestamptz"))


@functools.cache
def _prepared(alias: str) -> prepared.Statement:
    sql = _statement(alias)
    for number, (name, _) in enumerate(PARAMETERS, start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
    return prepared.Statement(NAME, sql, tuple(kind for _, kind in PARAMETERS))


@functools.lru_cache(maxsize=256)
def _months(start: date | str | None, end: date | str | None, this_month: date) -> str:
    """The months asked for with their default deadlines' London-time ``isoformat()``, as
    JSON (a bad or too long range raises each time: an exception is not cached)."""
    months = _window(start, end, this_month)
    due = [default_deadlines(m) for m in months]
    return json.dumps([{"month": m.isoformat(), "provisional": d.provisional.isoformat(),
                        "final": d.final.isoformat()} for m, d in zip(months, due, strict=True)])


def provider_months_json(*, organisation_code: str, start: date | str | None = None,
                         end: date | str | None = None,
                         now: datetime | None = None) -> str | None:
    """The JSON list ``provider_month_statuses`` renders to, written by PostgreSQL in one
    statement; None on another database, or where PostgreSQL would write a quality that
    Python would round otherwise (the caller then takes the Python path)."""
    alias = router.db_for_read(Submission)
    db = connections[alias]
    if db.vendor != "postgresql":
        return None
    now = now or timezone.now()
    today = now.date()
    months = _months(start, end, today.replace(day=1))
    if months == "[]":
        return months
    params: list[Any] = [months, organisation_code.strip().upper(), today, now]
    with db.cursor() as cursor:
        prepared.execute(cursor, db, _prepared(alias), params)
        body, exact = cursor.fetchone()
    return body if exact else None
