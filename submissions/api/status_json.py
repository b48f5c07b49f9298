"""The provider status rows as JSON text written by PostgreSQL, for the API to pass through.

A RIS polls ``/api/submissions/`` and ``/api/submissions/{id}/`` many times a second. Reading
each row's columns into Python (a dozen times parsed, the JSON columns decoded), writing each
out as a dict and rendering the page cost most of a request's CPU. On PostgreSQL the one
statement instead writes each row as the exact JSON text ``SubmissionSerializer`` would give
(DRF's compact JSON, the times in the current time zone as ISO strings with "Z" for UTC, the
stored JSON's keys in the serializer's order), and Python only joins the rows (a test holds
the bytes equal to the serializer's for times across a BST change, nulls and odd strings).

The statement is long (parsing and planning its text cost PostgreSQL more than running it),
so each database session prepares it once (``PREPARE``, then ``EXECUTE`` through Django's
cursor, counted and logged as any query); not behind PgBouncer in transaction pooling, where
the next statement may reach another server session.

Where PostgreSQL's number formatting could differ from Python's (a stored float outside the
range [1e-4, 1e15), NaN, a nested value where the serializer has a scalar, or a server whose
``extra_float_digits`` is below 1), the row says so (``exact`` false) and the caller takes the
Python path for that request. Other databases (SQLite, the embedded default) have no such
statement: ``status_json_supported`` is false and the caller keeps the Python path.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, router
from django.utils import timezone

from dids_portal.lib import prepared
from submissions.api.serializers import ITEM_QUALITY_KEYS, NOTICE_KEYS
from submissions.models import Submission, SubmissionJob

# Compacts jsonb's text (", " and ": " between tokens) to DRF's separators, strings untouched.
_COMPACT = r"""regexp_replace(({e})::text, '("(?:[^"\\]|\\.)*")|([,:]) ', '\1\2', 'g')"""
# A number Python writes in another form than PostgreSQL's numeric (exponents).
_ODD_NUMBER = ('$.** ? (@.type() == "number" && (@ >= 1e16 || @ <= -1e16 '
               '|| (@ != 0 && @ < 0.0001 && @ > -0.0001)))')


def status_json_supported(alias: str | None = None) -> bool:
    return connections[alias or router.db_for_read(Submission)].vendor == "postgresql"


def _text(e: str) -> str:
    return f"COALESCE(to_json({e})::text, 'null')"


def _plain(e: str) -> str:  # numbers and booleans: their text is their JSON
    return f"COALESCE(({e})::text, 'null')"


def _time(e: str, local: str, utc: str) -> str:
    """DRF's DateTimeField: local ISO time, microseconds only when not zero, "Z" for +00:00
    (offsets in whole minutes, as the current time zone's have been since 1847); ``local`` and
    ``utc`` are ``e`` at the current time zone and at UTC, worked out once a row."""
    return (f"CASE WHEN {e} IS NULL THEN 'null' ELSE '\"' || "
            f"replace(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || "
            f"CASE WHEN {local} = {utc} THEN 'Z' WHEN {local} > {utc} "
            f"THEN '+' || to_char({local} - {utc}, 'HH24:MI') "
            f"ELSE '-' || to_char({utc} - {local}, 'HH24:MI') END || '\"' END")


def _scalars(value: str, keys: tuple[str, ...]) -> str:
    """An object of these keys in this order, from a stored object's scalar values."""
    parts = [f"'{'{' if i == 0 else ','}\"{k}\":' || COALESCE({value}->'{k}', 'null'::jsonb)::text"
             for i, k in enumerate(keys)]
    return " || ".join(parts) + " || '}'"


def _row_sql(alias: str) -> str:
    """The statement's SELECT, FROM and JOINs (id, the row's JSON, whether it is exact; $1 is
    the current time zone's name). Built from the model's table and column names and constants
    only: every value is a parameter."""
    db = connections[alias]
    q = db.ops.quote_name
    s, j = q(Submission._meta.db_table), q(SubmissionJob._meta.db_table)
    user_table = q(Submission._meta.get_field("submitted_by").related_model._meta.db_table)
    release_table = q(Submission._meta.get_field("reference_release").related_model._meta.db_table)

    def c(column: str) -> str:
        return f"s.{q(column)}"

    def jc(column: str) -> str:
        return f"j.{q(column)}"

    times: list[str] = []

    def time(e: str) -> str:  # its local and UTC times read from the row's lateral t
        times.append(e)
        return _time(e, f"t.l{len(times)}", f"t.u{len(times)}")

    notice = _scalars("n.v", NOTICE_KEYS)
    item = _scalars("i.v", ITEM_QUALITY_KEYS)
    percent = (f"CASE WHEN {jc('state')} = 'done' THEN '100' WHEN COALESCE({jc('rows_estimate')}, 0) = 0 "
               f"THEN '0' ELSE least(99, 100 * {jc('rows_done')} / {jc('rows_estimate')})::text END")
    score = c("quality_score")
    fields = [
        ("id", f"{c('id')}::text"), ("organisation", _text(c("organisation_id"))),
        ("activity_month", f"'\"' || to_char({c('activity_month')}, 'YYYY-MM') || '\"'"),
        ("version", _plain(c("version"))), ("status", _text(c("status"))),
        ("is_live", _plain(c("is_live"))), ("original_name", _text(c("original_name"))),
        ("size_bytes", _plain(c("size_bytes"))), ("sha256", _text(c("sha256"))),
        ("received_at", time(c("received_at"))), ("as_of", time(c("as_of"))),
        ("channel", _text(c("channel"))), ("submitted_by", _text(f"u.{q('email')}")),
        ("dataset_version", _text(c("dataset_version"))), ("rows", _plain(c("rows"))),
        ("accepted_rows", _plain(c("accepted_rows"))), ("rejected_rows", _plain(c("rejected_rows"))),
        ("warning_count", _plain(c("warning_count"))), ("file_rejected", _plain(c("file_rejected"))),
        ("counts_by_rule", f"COALESCE({_COMPACT.format(e=c('counts_by_rule'))}, 'null')"),
        ("reference_release",  # ReferenceRelease.__str__, its time as stored (UTC)
         f"CASE WHEN r.{q('label')} IS NULL THEN 'null' ELSE to_json(r.{q('label')} || "
         f"COALESCE(to_char(r.{q('loaded_at')} AT TIME ZONE 'UTC', ' (YYYY-MM-DD HH24:MI)'), ''))::text END"),
        ("ruleset_version", _text(c("ruleset_version"))), ("processed_at", time(c("processed_at"))),
        ("failure_reason", _text(c("failure_reason"))),
        ("job", f"CASE WHEN {jc('state')} IS NULL THEN 'null' ELSE "
                f"'{{\"state\":' || to_json({jc('state')})::text || ',\"rows_done\":' || "
                f"{_plain(jc('rows_done'))} || ',\"rows_estimate\":' || {_plain(jc('rows_estimate'))} || "
                f"',\"percent\":' || {percent} || ',\"attempts\":' || {_plain(jc('attempts'))} || "
                f"',\"started_at\":' || {time(jc('started_at'))} || ',\"finished_at\":' || "
                f"{time(jc('finished_at'))} || ',\"error\":' || {_text(jc('error'))} || '}}' END"),
        ("findings_url", f"'\"/api/submissions/' || {c('id')} || '/findings/\"'"),
        # The element subqueries run only for a version that has elements (most have none).
        ("plausibility", f"CASE WHEN {c('plausibility')} = '[]' THEN '[]' ELSE "  # noqa: S608
                         f"COALESCE((SELECT '[' || string_agg({notice}, ',' ORDER BY n.o) || ']' "
                         f"FROM jsonb_array_elements({c('plausibility')}) WITH ORDINALITY n(v, o)), '[]') END"),
        ("quality", f"CASE WHEN {c('quality')} = '{{}}' THEN '{{}}' ELSE "  # noqa: S608
                    f"COALESCE((SELECT '{{' || string_agg(to_json(i.k)::text || ':' || {item}, ',' "
                    f"ORDER BY i.o) || '}}' FROM jsonb_each({c('quality')}) WITH ORDINALITY i(k, v, o)), '{{}}') END"),
        ("quality_score", f"CASE WHEN {score} IS NULL THEN 'null' WHEN {score}::text ~ '^-?[0-9]+$' "
                          f"THEN {score}::text || '.0' ELSE {score}::text END"),
    ]
    body = " || ".join(f"'{'{' if i == 0 else ','}\"{name}\":' || {sql}"
                       for i, (name, sql) in enumerate(fields)) + " || '}'"
    nested = "'strict $[*].* ? (@.type() == \"object\" || @.type() == \"array\")'"
    # The path searches cost the most of a row's JSON: only where the stored JSON has elements
    # (an empty list or object, most versions', has no number and nothing nested).
    plausible, quality = c("plausibility"), c("quality")
    exact = (f"NOT (COALESCE(abs({score}) >= 1e15, false) "
             f"OR current_setting('extra_float_digits')::int < 1 "
             f"OR COALESCE(jsonb_path_exists({c('counts_by_rule')}, '{_ODD_NUMBER}'), false) "
             f"OR ({plausible} <> '[]' AND COALESCE(jsonb_path_exists({plausible}, '{_ODD_NUMBER}') "
             f"OR jsonb_path_exists({plausible}, {nested}, '{{}}', true), false)) "
             f"OR ({quality} <> '{{}}' AND COALESCE(jsonb_path_exists({quality}, '{_ODD_NUMBER}') "
             f"OR jsonb_path_exists({quality}, {nested.replace('$[*]', '$.*')}, '{{}}', true), false)))")
    source = (f"FROM {s} s CROSS JOIN (SELECT $1::text AS tz) z "
              f"LEFT OUTER JOIN {user_table} u ON s.{q('submitted_by_id')} = u.{q('id')} "
              f"LEFT OUTER JOIN {release_table} r ON s.{q('reference_release_id')} = r.{q('id')} "
              f"LEFT OUTER JOIN {j} j ON s.{q('id')} = j.{q('submission_id')} "
              # Each time at the zone and at UTC once a row (OFFSET 0: not pulled up, which
              # would write each conversion out again where it is used).
              f"CROSS JOIN LATERAL (SELECT " + ", ".join(
                  f"{e} AT TIME ZONE z.tz AS l{n}, {e} AT TIME ZONE 'UTC' AS u{n}"
                  for n, e in enumerate(times, start=1)) + " OFFSET 0) t")
    return f"SELECT {c('id')}, {body}, {exact} {source}"


# The two statements a poll runs, prepared once per session under these names.
_SHAPES = {
    "dids_status_json_list": "WHERE s.organisation_id = $2 ORDER BY s.id DESC LIMIT $3",
    "dids_status_json_version": "WHERE s.organisation_id = $2 AND s.id = $3 LIMIT 1",
}


@functools.cache
def _statement(alias: str, name: str) -> prepared.Statement:
    return prepared.Statement(name, f"{_row_sql(alias)} {_SHAPES[name]}",
                              ("text", "text", "bigint"))


def status_json_rows(*, code: str, pk: int | None = None, limit: int = 1,
                     alias: str | None = None) -> list[tuple[int, str, bool]]:
    """(id, JSON text, exact) of one organisation's versions, newest first, at most ``limit``
    (or its version ``pk``), in one statement: ``EXECUTE`` of the statement prepared in this
    database session the first time (behind PgBouncer, the statement itself each time)."""
    alias = alias or router.db_for_read(Submission)
    name = "dids_status_json_version" if pk is not None else "dids_status_json_list"
    args: list[Any] = [timezone.get_current_timezone_name(), code,
                       pk if pk is not None else max(0, limit)]
    db = connections[alias]
    with db.cursor() as cursor:
        prepared.execute(cursor, db, _statement(alias, name), args)
        rows: list[Any] = cursor.fetchall()
    return rows
