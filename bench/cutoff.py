"""Benchmark: the provisional cut-off plus its statistics, on a national month, on PostgreSQL.

Sets up a generated month (default 4M records across 150 organisations, one accepted version
each) directly with SQL generate_series, not through validation, then times in the same run:
  1. the baseline: one hand-written SQL aggregate over the same rows (count, median and 90th
     percentile of both waits and the bands, by modality), with the same session settings;
  2. period_cut_off(kind="provisional") + cutoff_statistics() (the cut-off freezes the
     product, checksums its records and computes the statistics; reading them is then free),
and prints the ratio (target <= 2x). Each is run --repeat times (the cut-off deleted in
between); the best and median times are printed.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_cutoff .venv/bin/python bench/cutoff.py
       [--rows 4000000] [--organisations 150] [--repeat 3] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONTH = date(2026, 6, 1)
sys.path.insert(0, str(ROOT))

from submissions.engine.context import LONDON  # noqa: E402 - after the path is set

BASELINE_SQL = """
    SELECT modality, count(*),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY activity_date - request_date),
           percentile_disc(0.9) WITHIN GROUP (ORDER BY activity_date - request_date),
           count(*) FILTER (WHERE activity_date - request_date <= 41),
           count(*) FILTER (WHERE activity_date - request_date BETWEEN 42 AND 90),
           count(*) FILTER (WHERE activity_date - request_date >= 91),
           percentile_cont(0.5) WITHIN GROUP (ORDER BY report_day - activity_date),
           percentile_disc(0.9) WITHIN GROUP (ORDER BY report_day - activity_date)
    FROM submissions_record WHERE submission_id = ANY(%s) GROUP BY modality
"""


# A month of records by SQL (also bench/scale.py): test dates spread over the first `days` days.
RECORDS_SQL = """
    INSERT INTO submissions_record (submission_id, activity_month, line, nhs_number,
        nhs_number_status, birth_date, gender, postcode, patient_source_setting, referrer_code,
        request_date, procedure_start, nicip_code, report_issued, site_code, accession_number,
        activity_date, report_day, modality)
    SELECT v.id, %(month)s, g.line + 1,
           (4000000000 + (v.id * 1000003 + g.line) %% 5000000000)::text, '01',
           date '1940-01-01' + (random() * 30000)::int, '1', 'LS1 4AP', '0' || (1 + (random() * 6)::int),
           'G1234567', d.test - (random() * random() * 120)::int,
           d.test + time '10:00', 'CCSPI', d.test + time '14:00' + (random() * 5)::int * interval '1 day',
           v.code || '01', v.code || lpad(g.line::text, 10, '0'), d.test,
           d.test + (random() * 5)::int,
           (ARRAY['CT','MRI','US','XRAY','FLUORO','NM','PET','SPECT','PHOTO','OTHER'])[1 + floor(power(random(), 2) * 10)::int]
    FROM (SELECT id, organisation_id AS code FROM submissions_submission WHERE id = ANY(%(ids)s)) v
    CROSS JOIN LATERAL generate_series(1, %(rows)s) g(line)
    CROSS JOIN LATERAL (SELECT %(month)s::date + (g.line %% %(days)s) AS test) d
"""


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_month(rows: int, organisations: int) -> list[int]:
    """Organisations, sites, one accepted live version each, and their records, by SQL."""
    from django.db import connection, transaction

    from reference.models import Organisation, Site
    from submissions.models import CutOff, Submission
    from submissions.partitions import record_partition_ensure

    received = datetime(2026, 7, 10, 12, tzinfo=LONDON)
    with transaction.atomic():
        CutOff.objects.filter(period__activity_month=MONTH).delete()
        existing = list(Submission.objects.filter(activity_month=MONTH).values_list("pk", flat=True))
        per_org = rows // organisations
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM submissions_record WHERE submission_id = ANY(%s)",
                           [existing])
            if existing and len(existing) == organisations and cursor.fetchone()[0] == per_org * organisations:
                return existing
        print(f"building {per_org * organisations:,} records across {organisations} organisations...",
              flush=True)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM submissions_record WHERE submission_id = ANY(%s)", [existing])
        Submission.objects.filter(pk__in=existing).delete()
        codes = [f"B{i:03d}" for i in range(1, organisations + 1)]
        for code in codes:
            Organisation.objects.get_or_create(code=code, defaults={
                "name": f"Bench trust {code}", "type": "nhs_trust", "region": "Bench",
                "in_scope_from": date(2012, 4, 1)})
            Site.objects.get_or_create(code=f"{code}01", defaults={"name": f"{code} site",
                                                                   "organisation_id": code})
        versions = Submission.objects.bulk_create(
            Submission(organisation_id=code, activity_month=MONTH, version=1, status="accepted",
                       is_live=True, file="bench", original_name="bench.csv", size_bytes=1,
                       sha256="0" * 64, received_at=received, as_of=received, rows=per_org,
                       accepted_rows=per_org, dataset_version="2.0", ruleset_version="bench")
            for code in codes)
        ids = [v.pk for v in versions]
    start = time.perf_counter()
    record_partition_ensure(MONTH)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(RECORDS_SQL, {"month": MONTH, "ids": ids, "rows": per_org,
                                     "days": 30})
        cursor.execute("VACUUM ANALYZE submissions_record")
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    return ids


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--organisations", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the last cut-off")
    args = parser.parse_args()
    setup_django()
    from django.db import connection, transaction

    from submissions.cycle.cutoff_selectors import cutoff_statistics
    from submissions.cycle.services import period_cut_off
    from submissions.cycle.timetable import default_deadlines
    from submissions.models import CutOff

    ids = build_month(args.rows, args.organisations)
    after = default_deadlines(MONTH).provisional + timedelta(minutes=1)
    load = os.getloadavg()

    def baseline() -> None:
        # The same session settings as the cut-off's own scans get.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '128MB'")
            cursor.execute("SET LOCAL parallel_setup_cost = 100")
            cursor.execute("SET LOCAL parallel_tuple_cost = 0.001")
            cursor.execute(BASELINE_SQL, [ids])
            cursor.fetchall()

    result: dict = {}

    def cutoff_and_statistics() -> None:
        CutOff.objects.filter(period__activity_month=MONTH).delete()
        cutoff, created = period_cut_off(actor=None, month=MONTH, kind="provisional", now=after,
                                         run_by_label="bench/cutoff.py")
        assert created
        result["stats"] = cutoff_statistics(cutoff=cutoff)

    def clear() -> None:
        CutOff.objects.filter(period__activity_month=MONTH).delete()

    baseline()  # warm the cache
    base_times, cut_times = [], []
    for _ in range(args.repeat):
        base_times.append(timed(baseline))
        clear()
        cut_times.append(timed(cutoff_and_statistics))
    if not args.keep:
        clear()
    stats = result["stats"]
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"at the start; PostgreSQL at {os.environ['DATABASE_URL'].split('@')[-1]}")
    print(f"records: {stats['total']:,} across {len(stats['by_provider'])} organisations")
    print(f"baseline, one SQL aggregate: best {min(base_times):.2f} s, "
          f"median {statistics.median(base_times):.2f} s")
    print(f"cut-off + statistics:        best {min(cut_times):.2f} s, "
          f"median {statistics.median(cut_times):.2f} s")
    print(f"ratio (best / best): {min(cut_times) / min(base_times):.2f}x (target <= 2x); "
          f"median / median: {statistics.median(cut_times) / statistics.median(base_times):.2f}x")


if __name__ == "__main__":
    main()
