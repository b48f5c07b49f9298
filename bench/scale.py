"""Benchmark: a year of national data, and costs that do not grow with it (PostgreSQL).

Sets its data up with SQL (as bench/cutoff.py does, not through validation): --organisations
providers with a site each; for each of --months months (the newest June 2026), one live
version per provider and, for --resubmit-share of them, a superseded earlier version, each
holding --rows-per-month / --organisations records. Two databases are built: DATABASE_URL's
with all --months months (each older month cut off, as a past month would be) and, beside it,
``<name>_one`` with only the newest month. In both, the superseded versions no cut-off took
are then archived to Parquet as an operator would (``dids_archive_records --days 0``). Then:
  1. the newest month's provisional cut-off plus statistics is timed in each database, the
     two alternating round by round (--repeat rounds; a warm-up cut-off after each switch;
     the cut-off deleted in between), so that load on the machine hits both sides alike;
     the ratio is of the medians (goal <= 1.2x);
  2. the storage per live record: hot (the records table's partitions with their indexes,
     holding live records once the superseded are archived), archived (the Parquet files'
     bytes per archived record) and total (both, over the live records);
and prints, of the --months database, the compliance register for the providers x 24 months, the provider months API's selector for
one provider over 24 months, and the data of the national pages (compliance matrix,
statistics of 12 months, cut-off list). The LAST line is, for scripts:
  scale: cut-off+stats with N months stored = X.XXx of 1 month

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_scale .venv/bin/python bench/scale.py
       [--months 12] [--rows-per-month 4000000] [--organisations 150] [--resubmit-share 0.3]
       [--repeat 5]
Both databases are created if missing and emptied of their submissions first; drop both
afterwards (``dropdb NAME; dropdb NAME_one``). The archives go to MEDIA_ROOT (default a
temporary folder).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NEWEST = date(2026, 6, 1)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="dids-bench-scale-"))

from bench.cutoff import RECORDS_SQL, setup_django  # noqa: E402 - after the path is set
from submissions.engine.context import LONDON, add_months  # noqa: E402


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
                status="accepted", is_live=number == numbers[-1],
                file=f"submissions/{code}/{month:%Y-%m}/v{number}.upload",
                original_name="bench.csv", size_bytes=1, sha256="0" * 64,
                received_at=received + timedelta(hours=number), as_of=received,
                processed_at=received + timedelta(hours=number, minutes=5), rows=rows,
                accepted_rows=rows, warned_rows=0, dataset_version="2.0",
                ruleset_version="bench"))
    ids = [v.pk for v in Submission.objects.bulk_create(versions)]
    record_partition_ensure(month)
    with connection.cursor() as cursor:
        cursor.execute(RECORDS_SQL, {"month": month, "ids": ids, "rows": rows, "days": 28})
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


def use_database(name: str) -> None:
    """Point Django's connection at another database on the same server (reconnects)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def create_database(name: str) -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def archive_superseded() -> tuple[int, int, int, float]:
    """Archive the superseded versions no cut-off took, as an operator would (the command, at
    --days 0); the versions, their records and Parquet bytes, and the seconds it took."""
    from io import StringIO

    from django.core.management import call_command
    from django.db.models import Count, Sum

    from submissions.models import Submission

    logging.getLogger("submissions.archive_services").setLevel(logging.WARNING)  # one a version
    start = time.perf_counter()
    call_command("dids_archive_records", "--days", "0", stdout=StringIO())
    seconds = time.perf_counter() - start
    done = (Submission.objects.exclude(records_archive="")
            .aggregate(n=Count("pk"), rows=Sum("accepted_rows"), size=Sum("records_archive_bytes")))
    return done["n"], done["rows"] or 0, done["size"] or 0, seconds


def alternating(fns: dict[str, Any], repeat: int) -> dict[str, list[float]]:
    """Time each of ``fns`` (name to (database, fn)) once a round, alternating them, after a
    warm-up call each time its database is switched to."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, (database, fn) in fns.items():
            use_database(database)
            fn()  # warm: a fresh connection's caches
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE submissions_record")
        cursor.execute("ANALYZE submissions_submission")
        cursor.execute("CHECKPOINT")  # the build's writes are not flushed during the timings


def storage() -> tuple[int, int]:
    """Bytes of the records table (every partition, with its indexes) and live records (the
    records of live versions)."""
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


def build(months: list[date], codes: list[str], *, rows: int, resubmit_share: float) -> int:
    """The months' versions and records, each month but the newest cut off, all vacuumed."""
    stored = 0
    for month in months:
        stored += build_month(month, codes, rows=rows, resubmit_share=resubmit_share)
        print(f"  {month:%Y-%m} built ({stored:,} records stored)", flush=True)
    vacuum()
    for month in months[1:]:
        cut_off(month)
    return stored


def compact() -> None:
    """Give the space of the archived records back (VACUUM FULL rewrites the partitions)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL submissions_record")
    vacuum()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows-per-month", type=int, default=4_000_000)
    parser.add_argument("--organisations", type=int, default=150)
    parser.add_argument("--resubmit-share", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from submissions.cycle.cutoff_selectors import cutoff_list
    from submissions.cycle.provider_months import provider_month_statuses
    from submissions.cycle.selectors import compliance_register
    from submissions.partitions import record_partitions
    from submissions.views.national import compliance_matrix, month_statistics

    logging.getLogger("submissions.cycle.services").setLevel(logging.WARNING)  # one a cut-off
    load = os.getloadavg()
    rows = args.rows_per_month // args.organisations
    months = [add_months(NEWEST, -back) for back in range(args.months)]
    many_db = str(connection.settings_dict["NAME"])
    one_db = f"{many_db}_one"
    create_database(one_db)
    built: dict[str, Any] = {}
    for database, stored_months in ((one_db, months[:1]), (many_db, months)):
        use_database(database)
        call_command("migrate", verbosity=0)
        clear()
        codes = providers(args.organisations)
        start = time.perf_counter()
        print(f"{database}: {len(stored_months)} month(s)", flush=True)
        stored = build(stored_months, codes, rows=rows, resubmit_share=args.resubmit_share)
        cut_off(NEWEST)
        before = storage()
        archived = archive_superseded()
        vacuum()
        after = storage()
        compact()
        built[database] = (stored, before, archived, after, storage())
        print(f"  built, cut off, archived ({archived[1]:,} records of {archived[0]} versions "
              f"in {archived[3]:.1f} s) and compacted in {time.perf_counter() - start:.1f} s",
              flush=True)
    times = alternating({"one": (one_db, lambda: cut_off(NEWEST)),
                         "many": (many_db, lambda: cut_off(NEWEST))}, args.repeat)
    use_database(many_db)
    stats = cut_off(NEWEST)
    stored, before, (versions, archived_rows, archived_bytes, archive_seconds), after, compacted = (
        built[many_db])
    live = compacted[1]
    user = national_user()
    window = (add_months(NEWEST, -23), NEWEST)
    register = timed(lambda: compliance_register(start=window[0], end=window[1]), args.repeat)
    provider = timed(lambda: provider_month_statuses(organisation_code=codes[0], start=window[0],
                                                     end=window[1]), args.repeat)
    matrix = timed(lambda: compliance_matrix(), args.repeat)
    monthly = timed(lambda: month_statistics(user=user, months=months), args.repeat)
    listed = timed(lambda: cutoff_list(), args.repeat)
    one_median, many_median = (statistics.median(times[k]) for k in ("one", "many"))
    ratio = many_median / one_median
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at the start, {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the "
          f"end; PostgreSQL at {os.environ['DATABASE_URL'].split('@')[-1]} (and {one_db})")
    print(f"data: {args.months} months x {args.organisations} organisations, {rows:,} records a "
          f"version, resubmit share {args.resubmit_share:.0%}: {stored:,} records stored, "
          f"{live:,} live, in {len(record_partitions())} partitions")
    print(f"archived (dids_archive_records --days 0): {versions} superseded versions, "
          f"{archived_rows:,} records in {archive_seconds:.1f} s "
          f"({archived_rows / max(archive_seconds, 1e-9):,.0f} records/s)")
    print(f"storage per live record: hot {compacted[0] / max(live, 1):.0f} bytes (records table "
          f"with indexes, compacted: {compacted[0] / 2**20:,.0f} MiB; before archiving "
          f"{before[0] / max(live, 1):.0f}, after archiving as VACUUM leaves it "
          f"{after[0] / max(live, 1):.0f}); archived {archived_bytes / max(archived_rows, 1):.1f} "
          f"bytes per archived record (Parquet, {archived_bytes / 2**20:,.1f} MiB); total "
          f"{(compacted[0] + archived_bytes) / max(live, 1):.0f} bytes per live record")
    for key, label in (("one", "1 month"), ("many", f"{args.months} months")):
        print(f"newest month's cut-off + statistics ({stats['total']:,} records), {label} "
              f"stored: median {statistics.median(times[key]):.2f} s, best {min(times[key]):.2f} "
              f"s, rounds {' '.join(f'{t:.2f}' for t in times[key])}")
    print(f"  (the two alternating, {args.repeat} rounds; goal <= 1.2x of 1 month, of the "
          f"medians; of the best {min(times['many']) / min(times['one']):.2f}x)")
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
