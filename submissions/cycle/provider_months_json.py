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


# Each month as the renderer writes a ProviderMonth; the versions and cut-offs as sub-lists.
_STATEMENT = """
WITH org AS (
  SELECT {O.in_scope_from} AS scope_from, {O.in_scope_to} AS scope_to, {O.closed} AS closed
  FROM {O} WHERE {O.code} = %(code)s AND {O.type} = ANY(%(types)s::text[])
), month AS (
  SELECT d.month, d.provisional, d.final, d.provisional_text, d.final_text
  FROM org CROSS JOIN unnest(%(months)s::date[], %(provisional)s::timestamptz[],
    %(final)s::timestamptz[], %(provisional_text)s::text[], %(final_text)s::text[])
    AS d(month, provisional, final, provisional_text, final_text)
  WHERE (org.scope_from IS NULL OR org.scope_from < (d.month + interval '1 month')::date)
    AND NOT COALESCE(LEAST(org.scope_to, org.closed) < d.month, false)
), timed AS (
  SELECT m.month, {P.id} AS period_id,
    CASE WHEN {P.id} IS NULL THEN m.provisional ELSE {P.provisional_deadline} END AS provisional,
    CASE WHEN {P.id} IS NULL THEN m.final ELSE {P.final_deadline} END AS final,
    CASE WHEN {P.id} IS NULL THEN '"' || m.provisional_text || '"'
      ELSE {provisional_iso} END AS provisional_text,
    CASE WHEN {P.id} IS NULL THEN '"' || m.final_text || '"' ELSE {final_iso} END AS final_text
  FROM month m LEFT JOIN {P} ON {P.activity_month} = m.month
), stated AS (
  SELECT t.*, v.versions, l.id AS live_id, l.version AS live_version, l.quality, l.exact,
    r.until, c.cutoffs,
    CASE WHEN v.on_time THEN 'on_time' WHEN v.accepted THEN 'late'
      WHEN %(today)s::date < (t.month + interval '1 month')::date THEN 'not_due'
      WHEN v.rejected THEN 'rejected_only' WHEN %(now)s::timestamptz <= t.final THEN 'due'
      ELSE 'missing' END AS state
  FROM timed t
  LEFT JOIN LATERAL (
    SELECT bool_or({S.status} = ANY(%(accepted)s::text[])) AS accepted,
      bool_or({S.status} = ANY(%(accepted)s::text[]) AND {S.received_at} <= t.provisional)
        AS on_time,
      bool_or({S.status} = ANY(%(rejected)s::text[])) AS rejected,
      string_agg('{{"id":' || {S.id} || ',"version":' || {S.version} || ',"status":'
        || to_json({S.status})::text || ',"is_live":'
        || CASE WHEN {S.is_live} THEN 'true' ELSE 'false' END || ',"received_at":'
        || {received_iso} || ',"rows":' || {rows} || ',"accepted_rows":' || {accepted_rows}
        || ',"rejected_rows":' || {rejected_rows} || '}}', ',' ORDER BY {S.version} DESC)
        AS versions
    FROM {S} WHERE {S.organisation} = %(code)s AND {S.activity_month} = t.month
  ) v ON true
  LEFT JOIN LATERAL (
    SELECT q.id, q.version,
      CASE WHEN q.rows = 0 THEN 'null' ELSE round(100.0 * q.clean / q.rows, 1)::text END
        AS quality,
      q.rows = 0 OR (q.clean BETWEEN 0 AND q.rows AND mod(2000 * q.clean, 2 * q.rows) <> q.rows)
        AS exact
    FROM (SELECT {S.id} AS id, {S.version} AS version, COALESCE({S.rows}, 0)::bigint AS rows,
            COALESCE({S.accepted_rows}, 0)::bigint - CASE WHEN {S.status} = %(warned)s
              THEN COALESCE({S.warned_rows}, 0) ELSE 0 END AS clean
          FROM {S} WHERE {S.organisation} = %(code)s AND {S.activity_month} = t.month
            AND {S.is_live} ORDER BY {S.version} ASC LIMIT 1) q
  ) l ON true
  LEFT JOIN LATERAL (
    SELECT MAX({R.expires_at}) AS until FROM {R}
    WHERE {R.period} = t.period_id AND {R.organisation} = %(code)s
      AND {R.expires_at} > %(now)s::timestamptz AND {R.granted_at} <= %(now)s::timestamptz
  ) r ON true
  LEFT JOIN LATERAL (
    SELECT string_agg(to_json({C.kind})::text || ':{{"cutoff_id":' || {C.id}
        || ',"taken_at":' || {taken_iso} || ',"submission_id":' || {taken_submission}
        || ',"version":' || {taken_version} || '}}', ',' ORDER BY {C.kind}) AS cutoffs
    FROM {C} LEFT JOIN {V} ON {V.cutoff} = {C.id} AND {V.organisation} = %(code)s
      LEFT JOIN {T} ON {T.id} = {V.submission}
    WHERE {C.period} = t.period_id
  ) c ON true
)
SELECT '[' || COALESCE(string_agg('{{"month":"' || to_char(month, 'YYYY-MM-DD')
    || '","state":"' || state || '","state_label":'
    || (%(labels)s::text[])[array_position(%(states)s::text[], state)]
    || ',"provisional_deadline":' || provisional_text || ',"final_deadline":' || final_text
    || ',"locked":' || CASE WHEN %(now)s::timestamptz > final AND until IS NULL THEN 'true'
      ELSE 'false' END
    || ',"reopened_until":' || {until_iso} || ',"live_submission_id":' || {live_id}
    || ',"live_version":' || {live_version} || ',"quality":' || COALESCE(quality, 'null')
    || ',"versions":[' || COALESCE(versions, '') || '],"cutoffs":{{' || COALESCE(cutoffs, '')
    || '}}}}', ',' ORDER BY month DESC), '') || ']', COALESCE(bool_and(exact), true)
FROM stated
"""


# Plain strings: psycopg would write an enum member's name.
_TYPES = [str(t) for t in PROVIDER_TYPES]
_ACCEPTED = [str(s) for s in ACCEPTED_STATUSES]
_REJECTED = [str(SubmissionStatus.REJECTED), str(SubmissionStatus.FAILED)]
_WARNED = str(SubmissionStatus.ACCEPTED_WITH_WARNINGS)


@functools.cache
def _statement(alias: str) -> str:
    db = connections[alias]
    org, period, version = (_Table(db, Organisation, "o"), _Table(db, ReportingPeriod, "p"),
                            _Table(db, Submission, "s"))
    cutoff, took, taken = (_Table(db, CutOff, "c"), _Table(db, CutOffVersion, "cv"),
                           _Table(db, Submission, "cs"))
    # Only the models' own quoted table and column names are written in; values are params.
    return _STATEMENT.format(
        O=org, P=period, S=version, R=_Table(db, PeriodReopening, "r"), C=cutoff, V=took,
        T=taken, provisional_iso=_iso(period.provisional_deadline),
        final_iso=_iso(period.final_deadline), received_iso=_iso(version.received_at),
        rows=_number(version.rows), accepted_rows=_number(version.accepted_rows),
        rejected_rows=_number(version.rejected_rows), taken_iso=_iso(cutoff.taken_at),
        taken_submission=_number(took.submission), taken_version=_number(taken.version),
        until_iso=_iso("until"), live_id=_number("live_id"), live_version=_number("live_version"))


def _json(value: str) -> str:
    """A string as DRF's JSONRenderer writes it (unescaped non-ASCII, U+2028/9 escaped)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@functools.cache
def _labels() -> tuple[list[str], list[str]]:
    choices = ComplianceState.choices
    return [str(s) for s, _ in choices], [_json(str(label)) for _, label in choices]


@functools.lru_cache(maxsize=64)
def _defaults(months: tuple[date, ...]) -> dict[str, list[Any]]:
    """The months' default deadlines, and their London-time ``isoformat()``."""
    due = [default_deadlines(m) for m in months]
    return {"months": list(months), "provisional": [d.provisional for d in due],
            "final": [d.final for d in due],
            "provisional_text": [d.provisional.isoformat() for d in due],
            "final_text": [d.final.isoformat() for d in due]}


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
    months = _window(start, end, now)
    if not months:
        return "[]"
    states, labels = _labels()
    params: dict[str, Any] = {**_defaults(tuple(months)), "code": organisation_code.strip().upper(),
              "types": _TYPES, "today": now.date(), "now": now, "accepted": _ACCEPTED,
              "rejected": _REJECTED, "warned": _WARNED, "states": states, "labels": labels}
    with db.cursor() as cursor:
        cursor.execute(_statement(alias), params)
        body, exact = cursor.fetchone()
    return body if exact else None
