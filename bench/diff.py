"""Benchmark: the page comparing two versions of a month, as a provider opens it, on PostgreSQL.

For each size (default 2,000 and 300,000 records a version) it sets up, directly with SQL
generate_series (not through validation), one organisation with two accepted versions of
June 2026: version 2 drops 2% of version 1's records, adds 2% new ones and changes 5% (a
procedure end time, and on a fifth of those a NICIP code and the modality). It then fetches
the diff page through Django's test client, signed in as the organisation's submitter, the
whole request from URL to rendered HTML: the first page of every difference, then the second
page of the changed records. Each is run --repeat times; the best and median are printed with
the ratio to the target (300 ms for 2,000 records, 3 s for 300,000), and the CPU time of the
request (this process plus its PostgreSQL backend, when the database runs on this machine),
which on a busy shared machine says what the wall time would be on an idle one.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_diff .venv/bin/python bench/diff.py
       [--sizes 2000,300000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
MONTH = date(2026, 6, 1)
LONDON = ZoneInfo("Europe/London")
TARGETS = {2_000: 0.3, 300_000: 3.0}
sys.path.insert(0, str(ROOT))

RECORDS_SQL = """
    INSERT INTO submissions_record (submission_id, activity_month, line, nhs_number, nhs_number_status,
        birth_date, gender, postcode, patient_source_setting, referrer_code, request_date,
        procedure_start, procedure_end, nicip_code, report_issued, site_code,
        accession_number, activity_date, report_day, modality)
    SELECT %(id)s, %(month)s, g.line,
           (4000000000 + g.key::bigint * 7919 %% 5000000000)::text, '01',
           date '1940-01-01' + (g.key * 31 %% 30000), '1', 'LS1 4AP', '01', 'G1234567',
           d.test - (g.key %% 90), d.test + time '10:00',
           d.test + time '10:30' + CASE WHEN %(changes)s AND g.key %% 20 = 3
                                        THEN interval '5 minutes' ELSE interval '0' END,
           CASE WHEN %(changes)s AND g.key %% 100 = 3 THEN 'CCHES' ELSE 'CCSPI' END,
           d.test + time '14:00', %(site)s, 'ACC' || lpad(g.key::text, 10, '0'), d.test,
           d.test + 1,
           CASE WHEN %(changes)s AND g.key %% 100 = 3 THEN 'MRI'
                ELSE (ARRAY['CT','MRI','US','XRAY','FLUORO','NM'])[1 + g.key %% 6] END
    FROM (SELECT row_number() OVER () AS line, key
          FROM generate_series(%(first)s, %(last)s) key WHERE key %% 50 <> %(dropped)s) g
    CROSS JOIN LATERAL (SELECT date '2026-06-01' + (g.key %% 30)::int AS test) d
"""


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
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


def build(size: int) -> tuple[str, object]:
    """An organisation of its own for this size, its submitter, and two versions."""
    from django.db import connection, transaction

    from accounts.choices import Role
    from accounts.models import Membership, User
    from reference.models import Organisation, Site
    from submissions.models import Submission
    from submissions.partitions import record_partition_ensure

    code = f"DB{len(str(size))}"
    marker = f"bench-diff-{size}.csv"
    received = datetime(2026, 7, 10, 12, tzinfo=LONDON)
    with transaction.atomic():
        organisation, _ = Organisation.objects.get_or_create(
            code=code,
            defaults={
                "name": f"Bench diff trust {size}",
                "type": "nhs_trust",
                "region": "Bench",
                "in_scope_from": date(2012, 4, 1),
            },
        )
        Site.objects.get_or_create(
            code=f"{code}01", defaults={"name": f"{code} site", "organisation": organisation}
        )
        user, _ = User.objects.get_or_create(email=f"bench-diff-{size}@example.nhs.uk")
        Membership.objects.get_or_create(
            user=user, organisation=organisation, role=Role.PROVIDER_SUBMITTER
        )
        versions = list(
            Submission.objects.filter(organisation=organisation, activity_month=MONTH).order_by(
                "version"
            )
        )
        if [v.original_name for v in versions] == [marker, marker]:
            return code, user
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM submissions_record WHERE submission_id = ANY(%s)",
                [[v.pk for v in versions]],
            )
        Submission.objects.filter(pk__in=[v.pk for v in versions]).delete()
        print(f"building two versions of {size:,} records for {code}...", flush=True)
        start = time.perf_counter()
        # Version 1 holds keys 1..size+extra but every 50th; version 2 the keys from extra+1 to
        # size+2*extra but those one past every 50th: about 4% each added and removed.
        extra = size // 50
        for number, (first, last, dropped, changes) in enumerate(
            [(1, size + extra, 0, False), (1 + extra, size + 2 * extra, 1, True)], start=1
        ):
            version = Submission.objects.create(
                organisation=organisation,
                activity_month=MONTH,
                version=number,
                status="accepted",
                is_live=number == 2,
                file="bench",
                original_name=marker,
                size_bytes=1,
                sha256="0" * 64,
                received_at=received,
                as_of=received,
                rows=size,
                accepted_rows=size,
                dataset_version="2.0",
                ruleset_version="bench",
            )
            record_partition_ensure(MONTH)
            with connection.cursor() as cursor:
                cursor.execute(
                    RECORDS_SQL,
                    {
                        "id": version.pk,
                        "month": MONTH,
                        "first": first,
                        "last": last,
                        "dropped": dropped,
                        "changes": changes,
                        "site": f"{code}01",
                    },
                )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE submissions_record")
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    return code, user


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 if it runs elsewhere):
    on a shared machine, wall time measures the neighbours too; CPU time does not."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000,300000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    logging.disable(logging.INFO)  # sign-in chatter
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} at the start; PostgreSQL at {os.environ['DATABASE_URL'].split('@')[-1]}"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        _code, user = build(size)
        client = Client()
        client.force_login(user)  # type: ignore[arg-type]
        url = reverse("submissions:diff", args=[f"{MONTH:%Y-%m}"])
        target = TARGETS.get(size)
        for label, query in (
            ("first page, every difference", "?from=1&to=2"),
            ("second page, changed only", "?from=1&to=2&kind=changed&page=2"),
        ):
            times, cpu = [], []
            for _ in range(args.repeat + 1):  # the first warms the cache and is not counted
                start, start_cpu = time.perf_counter(), time.process_time() + backend_cpu()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url + query, secure=True)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() + backend_cpu() - start_cpu)
                assert response.status_code == 200, response.status_code
            counts = {
                kind: re.search(rf'data-testid="diff-{kind}">([0-9]+)<', response.content.decode())[
                    1
                ]  # type: ignore[index]
                for kind in ("added", "removed", "changed")
            }
            best, median = min(times[1:]), statistics.median(times[1:])
            ratio = (
                f"; median / target {median / target:.2f}x (target {target:g} s)" if target else ""
            )
            print(
                f"{size:>9,} records a version, {label}: best {best * 1000:.0f} ms, "
                f"median {median * 1000:.0f} ms{ratio}; CPU (this process and its PostgreSQL "
                f"backend) median {statistics.median(cpu[1:]) * 1000:.0f} ms; {len(queries)} queries; "
                f"added {counts['added']}, removed {counts['removed']}, changed {counts['changed']}"
            )


if __name__ == "__main__":
    main()
