"""Benchmark: the provider status endpoints of the API under concurrent clients, on gunicorn.

Sets up its own PostgreSQL database (default ``dids_bench_api``, created if missing): a few
provider organisations, each with ~12 months of versions (a superseded accepted one and a
live one with warnings, each with --records records loaded by SQL), and an API token of the
first organisation. Then starts gunicorn with the production settings (``gunicorn.conf.py``,
2 workers x 4 threads unless told otherwise) on a free loopback port, drives it with wrk
(--connections clients for --duration seconds per endpoint, after a short warm-up) and prints,
for each endpoint beside the baseline ``/healthz`` measured on the same server in the same
run: requests/s, p50/p95/p99 latency, and its requests/s as a ratio of /healthz's and of the
bare Django response's.

The bare Django response is the baseline the project is judged against (PERFORMANCE.md): an
unrouted path under /api/ with no token, so the request goes through the whole middleware
stack and the URL resolver and Django answers 404 (its JSON error), with no database query.
/healthz is answered by the first middleware, before everything else: the ceiling of the server.

Targets (issue 15, PERFORMANCE.md): p95 under 100 ms at 50 clients, and at least a third of
the bare Django response's requests/s. The machine is shared: read the ratios, and rerun when
the load average is high.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_api .venv/bin/python bench/api.py
       [--duration 10] [--connections 50] [--workers 2] [--threads 4] [--records 10000]
       [--organisations 5] [--months 12] [--reseed] [--only healthz,submissions,...]
wrk is Debian's package: ``apt-get install -y wrk``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dids_bench_api"
sys.path.insert(0, str(ROOT))
# The baseline: no route, no token; Django's own 404 after every middleware and the resolver.
BARE_DJANGO_PATH = "/api/bench-no-such-endpoint/"
TARGET_RATIO, TARGET_P95_MS = 0.33, 100.0

from submissions.engine.context import LONDON, add_months  # noqa: E402 - after the path is set

# wrk prints this one line at the end: requests, microseconds, errors, latency percentiles.
WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("DIDS-BENCH %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        sys.exit("Give the benchmark a database of its own, whose name says bench "
                 "(dids_bench_api).")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(*, organisations: int, months: int, records: int, reseed: bool) -> tuple[str, str, int]:
    """The provider data; returns (organisation code, token plaintext, a live submission id).

    Submissions are bulk-created and records loaded by SQL (as bench/cutoff.py does): the
    benchmark measures reads, not the ingest path.
    """
    from django.db import connection, transaction

    from accounts.choices import Role
    from accounts.models import ApiToken, Membership, User
    from accounts.services import api_token_create
    from reference.models import Organisation, ReferenceRelease, Site
    from submissions.choices import JobState, SubmissionStatus
    from submissions.models import Submission, SubmissionJob
    from submissions.partitions import record_partition_ensure

    codes = [f"B{i:03d}" for i in range(1, organisations + 1)]
    current = datetime.now(LONDON).date().replace(day=1)
    wanted = [add_months(current, -n) for n in range(1, months + 1)]
    expected = len(codes) * len(wanted) * 2
    have = Submission.objects.filter(organisation_id__in=codes, activity_month__in=wanted).count()
    if reseed or have != expected:
        print(f"seeding {len(codes)} organisations x {len(wanted)} months x 2 versions x "
              f"{records:,} records...", flush=True)
        start = time.perf_counter()
        with transaction.atomic():
            old = list(Submission.objects.filter(organisation_id__in=codes).values_list("pk", flat=True))
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM submissions_record WHERE submission_id = ANY(%s)", [old])
                cursor.execute("DELETE FROM submissions_finding WHERE submission_id = ANY(%s)", [old])
            Submission.objects.filter(pk__in=old).delete()
            release = ReferenceRelease.objects.first() or ReferenceRelease.objects.create(
                label="bench release", source="bench/api.py", checksum="0" * 64)
            for code in codes:
                Organisation.objects.get_or_create(code=code, defaults={
                    "name": f"Bench trust {code}", "type": "nhs_trust", "region": "Bench",
                    "in_scope_from": date(2012, 4, 1)})
                Site.objects.get_or_create(code=f"{code}01", defaults={
                    "name": f"{code} site", "organisation_id": code})
            rows = []
            for code in codes:
                for month in wanted:
                    received = datetime.combine(add_months(month, 1), datetime.min.time(),
                                                LONDON) + timedelta(days=4, hours=10)
                    for version, status, live in (
                            (1, SubmissionStatus.ACCEPTED, False),
                            (2, SubmissionStatus.ACCEPTED_WITH_WARNINGS, True)):
                        at = received + timedelta(days=version)
                        rows.append(Submission(
                            organisation_id=code, activity_month=month, version=version,
                            status=status, is_live=live, file="bench", original_name="bench.csv",
                            size_bytes=records * 140, sha256=f"{version:064d}", received_at=at,
                            as_of=at, rows=records + 10, accepted_rows=records, rejected_rows=10,
                            warning_count=records // 20, counts_by_rule={"W001": records // 20},
                            warned_rows=records // 20 if version == 2 else 0,
                            dataset_version="2.0", ruleset_version="bench",
                            reference_release=release, processed_at=at + timedelta(seconds=20)))
            versions = Submission.objects.bulk_create(rows)
            SubmissionJob.objects.bulk_create(
                SubmissionJob(submission=v, state=JobState.DONE, rows_done=records + 10,
                              rows_estimate=records + 10, attempts=1, started_at=v.received_at,
                              finished_at=v.processed_at) for v in versions)
            for month in {v.activity_month for v in versions}:
                record_partition_ensure(month)  # made before a month's first records
            with connection.cursor() as cursor:
                cursor.execute("SELECT setseed(0.42)")
                cursor.execute("""
                    INSERT INTO submissions_record (submission_id, activity_month, line, nhs_number,
                        nhs_number_status, birth_date, gender, postcode, patient_source_setting,
                        referrer_code, request_date, procedure_start, nicip_code, report_issued,
                        site_code, accession_number, activity_date, report_day, modality,
                        warnings)
                    SELECT v.id, v.month, g.line + 1, (4000000000 + (v.id * 1000003 + g.line) %% 5000000000)::text,
                           '01', date '1940-01-01' + (random() * 30000)::int, '1', 'LS1 4AP', '01',
                           'G1234567', v.month + (g.line %% 28) - 10, v.month + (g.line %% 28) + time '10:00',
                           'CCSPI', v.month + (g.line %% 28) + time '14:00', v.code || '01',
                           v.code || lpad(g.line::text, 10, '0'), v.month + (g.line %% 28),
                           v.month + (g.line %% 28) + 1, 'CT',
                           CASE WHEN v.status = 'accepted_with_warnings' AND g.line %% 20 = 0
                                THEN 'W001' END
                    FROM (SELECT id, organisation_id AS code, activity_month AS month, status
                          FROM submissions_submission WHERE id = ANY(%s)) v
                    CROSS JOIN LATERAL generate_series(1, %s) g(line)
                """, [[v.pk for v in versions], records])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"  seeded in {time.perf_counter() - start:.1f} s", flush=True)

    code = codes[0]
    user = User.objects.filter(email="ris@bench.example.nhs.uk").first()
    if user is None:
        user = User.objects.create_user("ris@bench.example.nhs.uk", None)
    Membership.objects.get_or_create(user=user, organisation_id=code, role=Role.PROVIDER_SUBMITTER)
    # A fresh token each run (the plaintext is shown once); the old ones are revoked.
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=datetime.now(LONDON))
    _, plaintext = api_token_create(actor=user, organisation_code=code, name="bench RIS")
    live = Submission.objects.filter(organisation_id=code, is_live=True).order_by("-activity_month")
    return code, plaintext, live.values_list("pk", flat=True)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_gunicorn(*, url: str, port: int, workers: int, threads: int,
                   log_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "dids_portal.settings",
           "DEBUG": "0", "SECRET_KEY": "bench-only-" + os.urandom(8).hex(),
           "ALLOWED_HOSTS": HOST, "SECURE_PROXY_SSL_HEADER": "1",
           "GUNICORN_ACCESS_LOG": str(log_dir / "access.log"),
           "GUNICORN_ERROR_LOG": str(log_dir / "error.log")}
    env.pop("CELERY_BROKER_URL", None)  # the read endpoints queue nothing
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"{HOST}:{port}",
         "--workers", str(workers), "--threads", str(threads)],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn stopped at start-up; see {log_dir / 'error.log'}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    sys.exit("gunicorn did not answer /healthz within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Quick shutdown (SIGINT); then the whole process group, workers included, if need be."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a worker left behind by its master


def get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def first_get(url: str, headers: dict[str, str], log: Path) -> tuple[int, bytes]:
    """The check before an endpoint's run, timed: a time-out is reported (with the workers
    gunicorn recycled by then, GUNICORN_MAX_REQUESTS) and tried once more, not hidden."""
    start = time.perf_counter()
    try:
        return get(url, headers)
    except (TimeoutError, urllib.error.URLError) as exc:
        print(f"  the first request to {url.split('/', 3)[-1]!r} failed after "
              f"{time.perf_counter() - start:.1f} s ({exc}); {restarts(log)} workers recycled "
              "so far; trying once more", flush=True)
        return get(url, headers)


def restarts(log: Path) -> int:
    """How many times a worker reached max_requests and was replaced (gunicorn's error log)."""
    try:
        return log.read_text(errors="replace").count("Autorestarting worker")
    except FileNotFoundError:
        return 0


def run_wrk(*, url: str, headers: dict[str, str], connections: int, duration: int,
            threads: int, lua: Path) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
               "-s", str(lua)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    line = next(x for x in result.stdout.splitlines() if x.startswith("DIDS-BENCH "))
    requests, micros, errors, non_2xx, p50, p95, p99, worst = (int(x) for x in line.split()[1:])
    return {"requests": requests, "rps": requests / (micros / 1e6), "errors": errors,
            "non_2xx": non_2xx, "p50": p50 / 1000, "p95": p95 / 1000, "p99": p99 / 1000,
            "max": worst / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per endpoint, unmeasured")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per process")
    parser.add_argument("--organisations", type=int, default=5)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--records", type=int, default=10_000, help="records per version")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install Debian's package with `apt-get install -y wrk`.")
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")
    setup_django(url)
    code, token, live_id = seed(organisations=args.organisations, months=args.months,
                                records=args.records, reseed=args.reseed)
    from django.db import connections

    connections.close_all()

    # The TLS proxy in front sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER=1).
    proxy = {"X-Forwarded-Proto": "https"}
    auth = {**proxy, "Authorization": f"Token {token}"}
    endpoints = [
        ("healthz", "/healthz", proxy),
        ("django", BARE_DJANGO_PATH, proxy),
        ("submissions", "/api/submissions/", auth),
        ("submission", f"/api/submissions/{live_id}/", auth),
        ("months", f"/api/months/?organisation={code}", auth),
    ]
    if args.only:
        chosen = set(args.only.split(",")) | {"healthz", "django"}
        endpoints = [e for e in endpoints if e[0] in chosen]
    load = os.getloadavg()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dids-bench-api-") as tmp:
        log_dir, lua = Path(tmp), Path(tmp) / "report.lua"
        lua.write_text(WRK_LUA)
        process = start_gunicorn(url=url, port=port, workers=args.workers, threads=args.threads,
                                 log_dir=log_dir)
        results: dict[str, dict[str, float]] = {}
        try:
            for name, path, headers in endpoints:
                status, body = first_get(f"http://{HOST}:{port}{path}", headers,
                                         log_dir / "error.log")
                if status != (404 if name == "django" else 200):
                    raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
                size = len(body)
                json.loads(body)
                if args.warmup:
                    run_wrk(url=f"http://{HOST}:{port}{path}", headers=headers,
                            connections=args.connections, duration=args.warmup,
                            threads=args.wrk_threads, lua=lua)
                results[name] = run_wrk(url=f"http://{HOST}:{port}{path}", headers=headers,
                                        connections=args.connections, duration=args.duration,
                                        threads=args.wrk_threads, lua=lua)
                results[name]["bytes"] = size
                print(f"  {name}: done ({restarts(log_dir / 'error.log')} worker recycles so far)",
                      flush=True)
        finally:
            stop(process)
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at the start; PostgreSQL at {url.split('@')[-1]}")
    print(f"gunicorn {args.workers} workers x {args.threads} threads (gthread), production "
          f"settings; wrk {args.connections} connections, {args.wrk_threads} threads, "
          f"{args.duration} s per endpoint after {args.warmup} s warm-up; "
          f"{args.months} months x 2 versions x {args.records:,} records per organisation")
    ceiling, base = results["healthz"]["rps"], results["django"]["rps"]
    print(f"{'endpoint':<40} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'x django':>9} {'x healthz':>10} {'errors':>7} {'bytes':>7}  target")
    for name, path, _ in endpoints:
        r = results[name]
        shown = path.replace(str(live_id), "{id}").replace(code, "CODE")
        # The baseline's 404s are its answer, not errors.
        errors = int(r["errors"] + (0 if name == "django" else r["non_2xx"]))
        met = ("-" if name in ("healthz", "django") else
               "met" if r["rps"] / base >= TARGET_RATIO and r["p95"] < TARGET_P95_MS else "not met")
        print(f"{shown:<40} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} "
              f"{r['rps'] / base:>8.2f}x {r['rps'] / ceiling:>9.2f}x {errors:>7} "
              f"{int(r['bytes']):>7}  {met}")
    print(f"targets: p95 < {TARGET_P95_MS:.0f} ms at 50 clients, and >= {TARGET_RATIO:.2f}x of the "
          f"bare Django response's requests/s ({BARE_DJANGO_PATH}, a 404 through the whole "
          "middleware stack and URL resolver)")


if __name__ == "__main__":
    main()
