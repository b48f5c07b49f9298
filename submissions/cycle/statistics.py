"""The statistics of a frozen product and the checksum over its records, in SQL.

One pass groups the product's records by modality, giving the counts, the waits and the
checksum (a sum of per-record hashes, so the per-modality parts add up to the whole); a
second pass counts by provider, provider x modality and patient source setting. PostgreSQL
uses ordered-set aggregates; SQLite (the embedded default) the same definitions with window
functions and a checksum computed by a registered function.

Definitions (SPEC section 8): waits in whole days, only records with both dates; median the
middle value (the mean of the two middle values for an even count); 90th percentile by
nearest rank, the ceil(0.9 n)-th smallest; request -> test bands 0-41, 42-90 and 91+ days.
The provider is the organisation owning the record's site code (the submitter's otherwise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.db import connection

from submissions.models import Record, Submission

RECORD = Record._meta.db_table
SUBMISSION = Submission._meta.db_table
SITE = "reference_site"
BANDS = (("0-41", 0, 41), ("42-90", 42, 90), ("91+", 91, None))
CHECKSUM_METHOD = ("sum mod 2^64 of a 64-bit hash of each record's row text "
                   "(PostgreSQL: hashtextextended; SQLite: 32-bit blake2b)")
MASK64 = (1 << 64) - 1


def _where(count: int) -> str:
    return f"r.submission_id IN ({', '.join(['%s'] * count)})"


def _wait(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(r.{later} - r.{earlier})"
    return f"CAST(julianday(r.{later}) - julianday(r.{earlier}) AS INTEGER)"


def _empty() -> dict[str, Any]:
    return {"total": 0, "checksum": "0" * 16, "by_modality": {}, "by_provider": {},
            "by_provider_modality": {}, "by_source_setting": {},
            "waits": {"request_to_test": {}, "test_to_report": {}}}


def _median(value: Any) -> float | None:
    return None if value is None else float(value)


def product_scan(submission_ids: Sequence[int]) -> dict[str, Any]:
    """Statistics and checksum of the records of these versions (one frozen product)."""
    ids = sorted(int(i) for i in submission_ids)
    result = _empty()
    if not ids:
        return result
    if connection.vendor == "postgresql":
        by_modality = _by_modality_postgres(ids)
    else:
        by_modality = _by_modality_sqlite(ids)
    checksum = 0
    for row in by_modality:
        modality = row["modality"]
        result["by_modality"][modality] = row["n"]
        result["total"] += row["n"]
        checksum = (checksum + int(row["checksum"])) & MASK64
        result["waits"]["request_to_test"][modality] = {
            "n": row["rt_n"], "median": _median(row["rt_median"]), "p90": row["rt_p90"],
            "bands": {name: row[f"band_{i}"] for i, (name, _lo, _hi) in enumerate(BANDS)},
        }
        result["waits"]["test_to_report"][modality] = {
            "n": row["tr_n"], "median": _median(row["tr_median"]), "p90": row["tr_p90"]}
    result["checksum"] = f"{checksum:016x}"
    for grouping, key, modality, count in _groups(ids):
        if grouping == "provider":
            result["by_provider"][key] = count
        elif grouping == "source":
            result["by_source_setting"][key if key is not None else "not stated"] = count
        else:
            result["by_provider_modality"].setdefault(key, {})[modality] = count
    return result


def _band_sql(wait: str) -> str:
    parts = []
    for i, (_name, low, high) in enumerate(BANDS):
        condition = f"{wait} >= {low}" + (f" AND {wait} <= {high}" if high is not None else "")
        parts.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS band_{i}")
    return ", ".join(parts)


def _fetch(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _by_modality_postgres(ids: list[int]) -> list[dict[str, Any]]:
    rt, tr = _wait("activity_date", "request_date"), _wait("report_day", "activity_date")
    sql = f"""
        SELECT r.modality AS modality, count(*) AS n,
               sum(hashtextextended(r::text, 0)) AS checksum,
               count({rt}) AS rt_n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {rt}) AS rt_median,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY {rt}) AS rt_p90,
               {_band_sql(rt)},
               count({tr}) AS tr_n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {tr}) AS tr_median,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY {tr}) AS tr_p90
        FROM {RECORD} r
        WHERE r.submission_id = ANY(%s)
        GROUP BY r.modality ORDER BY r.modality
    """  # noqa: S608 - table names and fixed expressions only
    rows = _fetch(sql, [ids])
    for row in rows:
        for i in range(len(BANDS)):
            row[f"band_{i}"] = int(row[f"band_{i}"] or 0)
    return rows


def _sqlite_hash(text: str) -> int:
    # 32 bits, so that SQLite's 64-bit SUM cannot overflow.
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def _by_modality_sqlite(ids: list[int]) -> list[dict[str, Any]]:
    """The same figures on SQLite: percentiles by ranking each group's waits in a window."""
    columns = [f.column for f in Record._meta.concrete_fields]
    row_text = " || '|' || ".join(f"COALESCE(CAST(r.\"{c}\" AS TEXT), '')" for c in columns)
    connection.ensure_connection()
    raw = connection.connection
    raw.create_function("dids_hash", 1, _sqlite_hash, deterministic=True)
    base = _fetch(f"""
        SELECT r.modality AS modality, count(*) AS n, SUM(dids_hash({row_text})) AS checksum
        FROM {RECORD} r WHERE {_where(len(ids))} GROUP BY r.modality ORDER BY r.modality
    """, ids)  # noqa: S608
    rows = {row["modality"]: row for row in base}
    for prefix, wait in (("rt", _wait("activity_date", "request_date")),
                         ("tr", _wait("report_day", "activity_date"))):
        ranked = f"""
            SELECT r.modality AS modality, {wait} AS w,
                   ROW_NUMBER() OVER (PARTITION BY r.modality ORDER BY {wait}) AS k,
                   COUNT(*) OVER (PARTITION BY r.modality) AS n
            FROM {RECORD} r WHERE {_where(len(ids))} AND {wait} IS NOT NULL
        """  # noqa: S608
        bands = _band_sql("w") if prefix == "rt" else "0 AS band_none"
        figures = _fetch(f"""
            SELECT modality, MAX(n) AS n,
                   AVG(CASE WHEN k IN ((n + 1) / 2, (n + 2) / 2) THEN w END) AS median,
                   MAX(CASE WHEN k = CAST((9 * n + 9) / 10 AS INTEGER) THEN w END) AS p90,
                   {bands}
            FROM ({ranked}) GROUP BY modality
        """, ids)  # noqa: S608
        for figure in figures:
            row = rows[figure["modality"]]
            row[f"{prefix}_n"] = figure["n"]
            row[f"{prefix}_median"] = figure["median"]
            row[f"{prefix}_p90"] = figure["p90"]
            for i in range(len(BANDS)):
                if f"band_{i}" in figure:
                    row[f"band_{i}"] = int(figure[f"band_{i}"] or 0)
    for row in rows.values():
        for prefix in ("rt", "tr"):
            row.setdefault(f"{prefix}_n", 0)
            row.setdefault(f"{prefix}_median", None)
            row.setdefault(f"{prefix}_p90", None)
        for i in range(len(BANDS)):
            row.setdefault(f"band_{i}", 0)
    return [rows[m] for m in sorted(rows)]


def _groups(ids: list[int]) -> list[tuple[str, Any, Any, int]]:
    provider = "COALESCE(s.organisation_id, sub.organisation_id)"
    source = "r.patient_source_setting"
    joins = (f"FROM {RECORD} r JOIN {SUBMISSION} sub ON sub.id = r.submission_id "
             f"LEFT JOIN {SITE} s ON s.code = r.site_code ")
    if connection.vendor == "postgresql":
        sql = f"""
            SELECT CASE WHEN GROUPING({provider}) = 0 AND GROUPING(r.modality) = 0 THEN 'pm'
                        WHEN GROUPING({provider}) = 0 THEN 'provider' ELSE 'source' END,
                   CASE WHEN GROUPING({provider}) = 0 THEN {provider} ELSE {source} END,
                   r.modality, count(*)
            {joins} WHERE r.submission_id = ANY(%s)
            GROUP BY GROUPING SETS (({provider}), ({source}), ({provider}, r.modality))
        """
        params: list[Any] = [ids]
    else:
        where = _where(len(ids))
        sql = f"""
            SELECT 'provider', {provider}, NULL, count(*) {joins} WHERE {where} GROUP BY 2
            UNION ALL
            SELECT 'source', {source}, NULL, count(*) {joins} WHERE {where} GROUP BY 2
            UNION ALL
            SELECT 'pm', {provider}, r.modality, count(*) {joins} WHERE {where} GROUP BY 2, 3
        """
        params = ids * 3
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [(g, k, m, int(c)) for g, k, m, c in cursor.fetchall()]
    return sorted(rows, key=lambda row: (row[0], str(row[1]), str(row[2])))
