"""Benchmark: a year of national data, and costs that do not grow with it (PostgreSQL).

Sets its data up with SQL (as bench/cutoff.py does, not through validation): --organisations
providers with a site each; for each of --months months (the newest June 2026), one live
version per provider and, for --resubmit-share of them, a superseded earlier version, each
holding --rows-per-month / --organisations records. Then, in the same run:
  1. with only the newest month stored: its provisional cut-off plus statistics (best of
     --repeat; the cut-off deleted in between);
  2. the older months are added (each cut off, as a past month would be), and the same cut-off
     plus statistics of the newest month is timed again;
and prints the storage per live record (the records table's partitions with their indexes,
over the records of live versions), both cut-off times and their ratio (goal <= 1.2x), the
compliance register for the providers x 24 months, the provider months API's selector for
one provider over 24 months, and the data of the national pages (compliance matrix,
statistics of 12 months, cut-off list). The LAST line is, for scripts:
  scale: cut-off+stats with N months stored = X.XXx of 1 month

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_scale .venv/bin/python bench/scale.py
       [--months 12] [--rows-per-month 4000000] [--organisations 150] [--resubmit-share 0.3]
       [--repeat 5]
The database is created if missing and emptied of its submissions first; drop it afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NEWEST = date(2026, 6, 1)
sys.path.insert(0, str(ROOT))

from bench.cutoff import setup_django  # noqa: E402 - after the path is set
from submissions.engine.context import LONDON  # noqa: E402

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
    CROSS JOIN LATERAL (SELECT %(month)s::date + (g.line %% 28) AS test) d
"""


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def clear() -> None:
    from django.db import connection

    from submissions.models import CutOff, Submission

    CutOff.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE submissions_record, submissions_finding")
    Submission.history.all().delete()
    Submission.objects.all().delete()


def providers(count: int) -> list[str]:
    from reference.models import Organisation, Site

    codes = [f"B{i:03d}" for i in range(1, count + 1)]
    for code in codes:
        Organisation.objects.get_or_create(code=code, defaults={
            "name": f"Bench trust {code}", "type": "nhs_trust", "region": "Bench",
            "in_scope_from": date(2012, 4, 1)})
        Site.objects.get_or_create(code=f"{code}01", defaults={"name": f"{code} site",
                                                               "organisation_id": code})
    return codes


def build_month(month: date, codes: list[str], *, rows: int, resubmit_share: float) -> int:
    """One month: a live version per provider (v2 where it resubmitted), records by SQL, and
    the statistics' counts stored with each version (as processing stores them)."""
    from django.db import connection

    from submissions.models import Submission
    from submissions.partitions import record_partition_ensure

    received = datetime(*add_months(month, 1).timetuple()[:3], 10, tzinfo=LONDON)
    resubmitting = set(codes[:round(len(codes) * resubmit_share)])
    versions = []
    for code in codes:
        numbers = (1, 2) if code in resubmitting else (1,)
        for number in numbers:
            versions.append(Submission(
                organisation_id=code, activity_month=month, version=number,
                status="accepted", is_live=number == numbers[-1], file="bench",
                original_name="bench.csv", size_bytes=1, sha256="0" * 64,
                received_at=received + timedelta(hours=number), as_of=received, rows=rows,
                accepted_rows=rows, warned_rows=0, dataset_version="2.0",
                ruleset_version="bench"))
    ids = [v.pk for v in Submission.objects.bulk_create(versions)]
    record_partition_ensure(month)
    with connection.cursor() as cursor:
        cursor.execute(RECORDS_SQL, {"month": month, "ids": ids, "rows": rows})
        store_statistics(cursor, ids, month)
    return len(ids) * rows


def store_statistics(cursor: Any, ids: list[int], month: date) -> None:
    """The counts a processed version keeps (``VersionStatistics``), by SQL here."""
    import json

    found: dict[int, dict[str, Any]] = {pk: {"groups": [], "waits": {}} for pk in ids}
    where = "FROM submissions_record r WHERE r.activity_month = %s AND r.submission_id = ANY(%s)"
    cursor.execute(f"SELECT submission_id, site_code, patient_source_setting, modality, count(*) "
                   f"{where} GROUP BY 1, 2, 3, 4", [month, ids])
    for pk, site, source, modality, count in cursor.fetchall():
        found[pk]["groups"].append([site, source, modality, count])
    for name, wait in (("request_to_test", "activity_date - request_date"),
                       ("test_to_report", "report_day - activity_date")):
        cursor.execute(f"SELECT submission_id, modality, {wait}, count(*) {where} "
                       f"AND {wait} IS NOT NULL GROUP BY 1, 2, 3", [month, ids])
        for pk, modality, days, count in cursor.fetchall():
            found[pk]["waits"].setdefault(name, {}).setdefault(modality, {})[str(days)] = count
    cursor.executemany("INSERT INTO submissions_versionstatistics (submission_id, groups, waits) "
                       "VALUES (%s, %s, %s)",
                       [(pk, json.dumps(v["groups"]), json.dumps(v["waits"]))
                        for pk, v in found.items()])


def cut_off(month: date) -> dict[str, Any]:
    from submissions.cycle.cutoff_selectors import cutoff_statistics
    from submissions.cycle.services import period_cut_off, period_ensure
    from submissions.cycle.timetable import default_deadlines
    from submissions.models import CutOff

    CutOff.objects.filter(period__activity_month=month).delete()
    period_ensure(month=month, actor=None)
    after = default_deadlines(month).provisional + timedelta(minutes=1)
    cutoff, _ = period_cut_off(actor=None, month=month, kind="provisional", now=after,
                               run_by_label="bench/scale.py")
    return cutoff_statistics(cutoff=cutoff)


def timed(fn: Any, repeat: int) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE submissions_record")
        cursor.execute("ANALYZE submissions_submission")
        cursor.execute("CHECKPOINT")  # the build's writes are not flushed during the timings


def storage() -> tuple[int, int]:
    """Bytes of the records table (every partition, with its indexes) and live records."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
                       "FROM pg_partition_tree('submissions_record')")
        size = int(cursor.fetchone()[0])
        cursor.execute("SELECT coalesce(sum(accepted_rows), 0) FROM submissions_submission "
                       "WHERE is_live")
        return size, int(cursor.fetchone()[0])


def national_user() -> Any:
    from accounts.choices import Role
    from accounts.models import Membership, User

    user, created = User.objects.get_or_create(email="bench-analyst@england.example.nhs.uk",
                                               defaults={"full_name": "Bench analyst"})
    if created:
        Membership.objects.create(user=user, role=Role.NATIONAL_ANALYST, organisation=None)
    return user


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows-per-month", type=int, default=4_000_000)
    parser.add_argument("--organisations", type=int, default=150)
    parser.add_argument("--resubmit-share", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    from submissions.cycle.cutoff_selectors import cutoff_list
    from submissions.cycle.selectors import compliance_register, provider_month_statuses
    from submissions.partitions import record_partitions
    from submissions.views.national import compliance_matrix, month_statistics

    load = os.getloadavg()
    rows = args.rows_per_month // args.organisations
    clear()
    codes = providers(args.organisations)
    start = time.perf_counter()
    stored = build_month(NEWEST, codes, rows=rows, resubmit_share=args.resubmit_share)
    vacuum()
    print(f"newest month: {stored:,} records ({rows:,} a version) built in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    cut_off(NEWEST)  # warm the cache
    one_best, one_median, _ = timed(lambda: cut_off(NEWEST), args.repeat)
    months = [add_months(NEWEST, -back) for back in range(args.months)]
    start = time.perf_counter()
    for month in months[1:]:
        stored += build_month(month, codes, rows=rows, resubmit_share=args.resubmit_share)
        print(f"  {month:%Y-%m} built ({stored:,} records stored)", flush=True)
    vacuum()
    for month in months[1:]:
        cut_off(month)
    print(f"older months built and cut off in {time.perf_counter() - start:.1f} s", flush=True)
    cut_off(NEWEST)  # warm the cache
    many_best, many_median, stats = timed(lambda: cut_off(NEWEST), args.repeat)
    size, live = storage()
    user = national_user()
    window = (add_months(NEWEST, -23), NEWEST)
    register = timed(lambda: compliance_register(start=window[0], end=window[1]), args.repeat)
    provider = timed(lambda: provider_month_statuses(organisation_code=codes[0], start=window[0],
                                                     end=window[1]), args.repeat)
    matrix = timed(lambda: compliance_matrix(), args.repeat)
    monthly = timed(lambda: month_statistics(user=user, months=months), args.repeat)
    listed = timed(lambda: cutoff_list(), args.repeat)
    ratio = many_best / one_best
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at the start; PostgreSQL at {os.environ['DATABASE_URL'].split('@')[-1]}")
    print(f"data: {args.months} months x {args.organisations} organisations, {rows:,} records a "
          f"version, resubmit share {args.resubmit_share:.0%}: {stored:,} records stored, "
          f"{live:,} live, in {len(record_partitions())} partitions")
    print(f"storage per live record: hot {size / max(live, 1):.0f} bytes (records table with "
          f"indexes, superseded versions included, {size / 2**20:,.0f} MiB); archived: n/a "
          "(archiving not on this branch)")
    print(f"newest month's cut-off + statistics ({stats['total']:,} records), 1 month stored: "
          f"best {one_best:.2f} s, median {one_median:.2f} s")
    print(f"newest month's cut-off + statistics, {args.months} months stored: "
          f"best {many_best:.2f} s, median {many_median:.2f} s (goal <= 1.2x of 1 month)")
    print(f"compliance register, {len(register[2].rows)} organisations x 24 months: "
          f"best {register[0] * 1000:.0f} ms, median {register[1] * 1000:.0f} ms")
    print(f"provider months API (selector), 1 organisation x 24 months: "
          f"best {provider[0] * 1000:.1f} ms, median {provider[1] * 1000:.1f} ms")
    print(f"national pages' data: compliance matrix {matrix[0] * 1000:.0f} ms, statistics of "
          f"{args.months} months {monthly[0] * 1000:.0f} ms, cut-off list "
          f"{listed[0] * 1000:.0f} ms (best of {args.repeat})")
    print(f"scale: cut-off+stats with {args.months} months stored = {ratio:.2f}x of 1 month")


if __name__ == "__main__":
    main()
