"""The statistics of a frozen product and the checksum over its records, in SQL.

On PostgreSQL three grouped scans (each run in parallel by the server) compute the counts
by (version, site, patient source setting, modality) with a checksum (a sum of per-record
hashes, so the parts add up to the whole), and the histogram of each wait by modality;
medians, nearest-rank percentiles and bands are read off those histograms exactly (whole
days), and the counts roll up by provider and setting from the grouped rows, never from
records. SQLite (the embedded default) uses the same definitions with window functions,
and a checksum computed by a registered function.

Definitions (SPEC section 8): waits in whole days, only records with both dates; median the
middle value (the mean of the two middle values for an even count); 90th percentile by
nearest rank, the ceil(0.9 n)-th smallest; request -> test bands 0-41, 42-90 and 91+ days.
The provider is the organisation owning the record's site code (the submitter's otherwise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db import connection, transaction

from reference.models import Site
from submissions.models import Submission, VersionStatistics
from submissions.records_archive import RECORD_TABLE, records_source

RECORD = RECORD_TABLE
SUBMISSION = Submission._meta.db_table
SITE = "reference_site"
BANDS = (("0-41", 0, 41), ("42-90", 42, 90), ("91+", 91, None))
# What the checksum hashes of each record: its key, its dates and its text items. On
# PostgreSQL the text items are hashed with a seed folded from the key and the dates (as day
# numbers), which avoids formatting dates as text for every record.
CHECKSUM_TEXT = ("nhs_number", "postcode", "patient_source_setting", "nicip_code",
                 "snomed_code", "site_code", "accession_number", "modality")
CHECKSUM_DATES = ("activity_date", "request_date", "report_day", "birth_date")
CHECKSUM_COLUMNS = ("submission_id", "line", *CHECKSUM_DATES, *CHECKSUM_TEXT)
CHECKSUM_METHOD = ("sum mod 2^64 of a 64-bit hash per record of its version, line, "
                   + ", ".join((*CHECKSUM_DATES, *CHECKSUM_TEXT)) + " (PostgreSQL: "
                   "hashtextextended of the text items joined by '|', seeded by "
                   "hashint8extended of the key and the dates' day numbers; SQLite: 32-bit "
                   "blake2b of all of them as text)")
MASK64 = (1 << 64) - 1


def _where(count: int) -> str:
    # The month first: on PostgreSQL it prunes the records table to the month's partition.
    return f"r.activity_month = %s AND r.submission_id IN ({', '.join(['%s'] * count)})"


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


def product_scan(submission_ids: Sequence[int], *, month: date) -> dict[str, Any]:
    """Statistics and checksum of the records of these versions of ``month`` (one frozen
    product); only the month's records are read (its partition, on PostgreSQL)."""
    ids = sorted(int(i) for i in submission_ids)
    if not ids:
        return _empty()
    # Archived versions' records are read from their Parquet files (records_source).
    with records_source(ids) as table:
        if connection.vendor == "postgresql":
            return _scan_postgres(ids, month, table)
        return _scan_sqlite(ids, month, table)


def _histogram_figures(histogram: dict[int, int], *, bands: bool) -> dict[str, Any]:
    """n, median (mean of the two middle values for an even n), nearest-rank 90th percentile
    and (request -> test) the bands, from counts of whole-day waits."""
    n = sum(histogram.values())
    wanted = {"lower": (n + 1) // 2, "upper": (n + 2) // 2, "p90": (9 * n + 9) // 10}
    found: dict[str, int] = {}
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        for name, rank in wanted.items():
            if name not in found and seen >= rank:
                found[name] = value
    figures: dict[str, Any] = {
        "n": n, "median": (found["lower"] + found["upper"]) / 2 if n else None,
        "p90": found.get("p90")}
    if bands:
        figures["bands"] = {name: sum(c for v, c in histogram.items()
                                      if v >= low and (high is None or v <= high))
                            for name, low, high in BANDS}
    return figures


def _scan_postgres(ids: list[int], month: date, table: str = RECORD) -> dict[str, Any]:
    """Three grouped scans that PostgreSQL runs in parallel: counts and checksum by (version,
    site, setting, modality), and the histogram of each wait by modality."""
    rt, tr = _wait("activity_date", "request_date"), _wait("report_day", "activity_date")
    day = "date '2000-01-01'"
    seed = "(r.submission_id::bigint << 32) + r.line"
    for i, column in enumerate(CHECKSUM_DATES):
        seed = f"hashint8extended(COALESCE(r.{column} - {day}, -{i + 1}), {seed})"
    hashed = ("hashtextextended(concat_ws('|', "
              + ", ".join(f"r.{c}" for c in CHECKSUM_TEXT) + f"), {seed})")
    where = f"FROM {table} r WHERE r.activity_month = %s AND r.submission_id = ANY(%s)"
    with transaction.atomic(), connection.cursor() as cursor:
        # Large scans with small results: room to hash in memory, and parallel workers.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute("SET LOCAL parallel_setup_cost = 100")
        cursor.execute("SET LOCAL parallel_tuple_cost = 0.001")
        cursor.execute(f"""
            SELECT r.submission_id, r.site_code, r.patient_source_setting, r.modality, count(*),
                   sum({hashed})
            {where} GROUP BY 1, 2, 3, 4""", [month, ids])
        grouped = cursor.fetchall()
        histograms: dict[str, dict[str, dict[int, int]]] = {}
        for key, wait in (("rt", rt), ("tr", tr)):
            cursor.execute(f"SELECT r.modality, {wait}, count(*) {where} AND {wait} IS NOT NULL "
                           "GROUP BY 1, 2", [month, ids])
            histograms[key] = {}
            for modality, days, count in cursor.fetchall():
                histograms[key].setdefault(modality, {})[days] = count
    submitter = dict(Submission.objects.filter(pk__in=ids).values_list("pk", "organisation_id"))
    return _roll_up(grouped, histograms, submitter)


def live_statistics(submission_ids: Sequence[int]) -> dict[str, Any]:
    """The same figures as ``product_scan`` for versions no cut-off has frozen, added up from
    the counts stored when each was processed (``VersionStatistics``): no record is read, so
    the cost is that of the versions, not of their records. No checksum (``None``)."""
    grouped: list[tuple[Any, ...]] = []
    histograms: dict[str, dict[str, dict[int, int]]] = {"rt": {}, "tr": {}}
    submitter: dict[int, str] = {}
    stored = (VersionStatistics.objects.filter(submission_id__in=list(submission_ids))
              .values_list("submission_id", "submission__organisation_id", "groups", "waits"))
    for submission_id, organisation, groups, waits in stored:
        submitter[submission_id] = organisation
        grouped.extend((submission_id, site, source, modality, count, 0)
                       for site, source, modality, count in groups)
        for name, key in (("request_to_test", "rt"), ("test_to_report", "tr")):
            for modality, days in waits.get(name, {}).items():
                histogram = histograms[key].setdefault(modality, {})
                for day, count in days.items():
                    histogram[int(day)] = histogram.get(int(day), 0) + count
    result = _roll_up(grouped, histograms, submitter)
    result["checksum"] = None
    return result


def _roll_up(grouped: list[tuple[Any, ...]], histograms: dict[str, dict[str, dict[int, int]]],
             submitter: dict[int, str]) -> dict[str, Any]:
    """Figures from counts by (version, site, setting, modality) with their hashes, and the
    wait histograms by modality."""
    result = _empty()
    site_owner = dict(Site.objects.filter(code__in={row[1] for row in grouped})
                      .values_list("code", "organisation_id"))
    checksum = 0
    for submission_id, site, source, modality, count, hashes in grouped:
        provider = site_owner.get(site) or submitter[submission_id]
        source = source if source is not None else "not stated"
        result["total"] += count
        checksum = (checksum + int(hashes)) & MASK64
        for key, bucket in ((modality, "by_modality"), (provider, "by_provider"),
                            (source, "by_source_setting")):
            result[bucket][key] = result[bucket].get(key, 0) + count
        per_provider = result["by_provider_modality"].setdefault(provider, {})
        per_provider[modality] = per_provider.get(modality, 0) + count
    result["checksum"] = f"{checksum:016x}"
    for name, key in (("request_to_test", "rt"), ("test_to_report", "tr")):
        for modality in sorted(result["by_modality"]):
            result["waits"][name][modality] = _histogram_figures(
                histograms[key].get(modality, {}), bands=key == "rt")
    return _sorted(result)


def _sorted(result: dict[str, Any]) -> dict[str, Any]:
    for bucket in ("by_modality", "by_provider", "by_source_setting"):
        result[bucket] = dict(sorted(result[bucket].items()))
    result["by_provider_modality"] = {p: dict(sorted(m.items())) for p, m in
                                      sorted(result["by_provider_modality"].items())}
    return result


def _scan_sqlite(ids: list[int], month: date, table: str = RECORD) -> dict[str, Any]:
    result = _empty()
    checksum = 0
    for row in _by_modality_sqlite(ids, month, table):
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
    for grouping, key, modality, count in _groups(ids, month, table):
        if grouping == "provider":
            result["by_provider"][key] = count
        elif grouping == "source":
            result["by_source_setting"][key if key is not None else "not stated"] = count
        else:
            result["by_provider_modality"].setdefault(key, {})[modality] = count
    return _sorted(result)


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


def _sqlite_hash(text: str) -> int:
    # 32 bits, so that SQLite's 64-bit SUM cannot overflow.
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")


def _by_modality_sqlite(ids: list[int], month: date, table: str) -> list[dict[str, Any]]:
    """The same figures on SQLite: percentiles by ranking each group's waits in a window."""
    row_text = " || '|' || ".join(f"COALESCE(CAST(r.{c} AS TEXT), '')" for c in CHECKSUM_COLUMNS)
    connection.ensure_connection()
    raw = connection.connection
    raw.create_function("dids_hash", 1, _sqlite_hash, deterministic=True)
    base = _fetch(f"""
        SELECT r.modality AS modality, count(*) AS n, SUM(dids_hash({row_text})) AS checksum
        FROM {table} r WHERE {_where(len(ids))} GROUP BY r.modality ORDER BY r.modality
    """, [month, *ids])  # noqa: S608
    rows = {row["modality"]: row for row in base}
    for prefix, wait in (("rt", _wait("activity_date", "request_date")),
                         ("tr", _wait("report_day", "activity_date"))):
        ranked = f"""
            SELECT r.modality AS modality, {wait} AS w,
                   ROW_NUMBER() OVER (PARTITION BY r.modality ORDER BY {wait}) AS k,
                   COUNT(*) OVER (PARTITION BY r.modality) AS n
            FROM {table} r WHERE {_where(len(ids))} AND {wait} IS NOT NULL
        """  # noqa: S608
        bands = _band_sql("w") if prefix == "rt" else "0 AS band_none"
        figures = _fetch(f"""
            SELECT modality, MAX(n) AS n,
                   AVG(CASE WHEN k IN ((n + 1) / 2, (n + 2) / 2) THEN w END) AS median,
                   MAX(CASE WHEN k = CAST((9 * n + 9) / 10 AS INTEGER) THEN w END) AS p90,
                   {bands}
            FROM ({ranked}) GROUP BY modality
        """, [month, *ids])  # noqa: S608
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


def _groups(ids: list[int], month: date, table: str) -> list[tuple[str, Any, Any, int]]:
    provider = "COALESCE(s.organisation_id, sub.organisation_id)"
    source = "r.patient_source_setting"
    joins = (f"FROM {table} r JOIN {SUBMISSION} sub ON sub.id = r.submission_id "
             f"LEFT JOIN {SITE} s ON s.code = r.site_code ")
    where = _where(len(ids))
    sql = f"""
        SELECT 'provider', {provider}, NULL, count(*) {joins} WHERE {where} GROUP BY 2
        UNION ALL
        SELECT 'source', {source}, NULL, count(*) {joins} WHERE {where} GROUP BY 2
        UNION ALL
        SELECT 'pm', {provider}, r.modality, count(*) {joins} WHERE {where} GROUP BY 2, 3
    """
    params: list[Any] = [month, *ids] * 3
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [(g, k, m, int(c)) for g, k, m, c in cursor.fetchall()]
    return sorted(rows, key=lambda row: (row[0], str(row[1]), str(row[2])))
