"""Benchmark: the deadline-day rush (issue 13), end to end through the API.

N organisations (default 150) each send one file of --min-records to --max-records records
(default 20,000-40,000) through the upload endpoint with their own API token, within a few
seconds of each other, to gunicorn (production settings) with --workers real Celery workers
(default 2, each one process serving the ``ingest`` queue) against PostgreSQL (its own
database, default ``dids_bench_rush``, dropped and made again) and a Redis database of its
own (--redis-db, emptied at the start and the end). While the workers drain the queue, a
bounded loop (--pollers threads, one request each --poll-interval seconds) polls the
organisations' status (``GET /api/submissions/?activity_month=``).

First, one file of the mean size is sent alone (by an organisation outside the rush) and timed
from its upload to its version being processed (the second of two sends: the first warms a
worker): one worker's single-file rate. Then the rush.
Printed: files and records sent and stored (verified in the database: every file one version,
every record stored once, nothing lost), the time to drain, the drain rate against
(single-file rate x workers), and p50/p95 of the status polls while the workers were busy (and apart, those while the files were
still being uploaded and those after, while the workers drained the queue).

Goals: drain rate >= 0.8x of (single-file rate x workers); status p95 < 300 ms.
The workers run at the niceness DIDS_WORKER_NICE gives them (--worker-nice to change it; the
single-file rate is measured at the same niceness), gunicorn at the benchmark's own.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_rush \\
       .venv/bin/python bench/rush.py [--organisations 150] [--min-records 20000]
       [--max-records 40000] [--workers 2] [--redis-db 11] [--uploaders 8] [--pollers 4]
Small: --organisations 10 --min-records 2000 --max-records 4000. Its processes (gunicorn,
the workers) and its Redis database are cleaned up on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dids_bench_rush"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api import free_port, stop  # noqa: E402 - bench/api.py's gunicorn helpers

ALONE = "Q000"  # the organisation that sends the single file, outside the rush


def codes(organisations: int) -> list[str]:
    return [f"Q{i:03d}" for i in range(1, organisations + 1)]


def setup_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        sys.exit("The benchmark drops and recreates its database: give it one whose name says "
                 "bench (dids_bench_rush).")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def seed(organisations: list[str]) -> dict[str, str]:
    """The organisations (each with a site), a submitter each and their API tokens."""
    from accounts.choices import Role
    from accounts.models import Membership, User
    from accounts.services import api_token_create
    from reference.models import Organisation, Site

    tokens = {}
    for code in [ALONE, *organisations]:
        Organisation.objects.get_or_create(code=code, defaults={
            "name": f"Rush trust {code}", "type": "nhs_trust", "region": "Bench",
            "in_scope_from": date(2012, 4, 1)})
        Site.objects.get_or_create(code=f"{code}01", defaults={
            "name": f"{code} site", "organisation_id": code})
        user = User.objects.create_user(f"ris@{code.lower()}.rush.example.nhs.uk", None)
        Membership.objects.create(user=user, organisation_id=code, role=Role.PROVIDER_SUBMITTER)
        tokens[code] = api_token_create(actor=user, organisation_code=code, name="rush RIS")[1]
    return tokens


def generate(folder: Path, sizes: dict[str, int], month: date) -> dict[str, Path]:
    from submissions.engine import generate_file
    from submissions.selectors import reference_snapshot_load

    snapshot, _ = reference_snapshot_load()
    paths = {}
    for i, (code, rows) in enumerate(sizes.items()):
        paths[code] = folder / f"{code}.csv"
        generate_file(paths[code], rows=rows, org=code, month=month, dataset_version="2.0",
                      reference=snapshot, seed=2026 + i)
    return paths


def start_gunicorn(*, env: dict[str, str], port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with (log_dir / "gunicorn.log").open("ab") as log:
        process = subprocess.Popen(
            [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"{HOST}:{port}"],
            cwd=ROOT, env={**env, "GUNICORN_ACCESS_LOG": "", "GUNICORN_ERROR_LOG":
                           str(log_dir / "gunicorn.log")},
            stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn stopped at start-up; see {log_dir / 'gunicorn.log'}")
        with (contextlib.suppress(OSError),
              urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as response):
            if response.status == 200:
                return process
        time.sleep(0.2)
    stop(process)
    sys.exit("gunicorn did not answer /healthz within 60 s")


def start_worker(*, env: dict[str, str], n: int, log_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dids_portal", "worker", "-Q", "ingest",
         "--concurrency", "1", "--pool", "prefork", "-n", f"rush{n}@%h", "--without-gossip",
         "--without-mingle", "-l", "warning", "--logfile", str(log_dir / f"worker{n}.log")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)


def worker_niceness(workers: list[subprocess.Popen[bytes]]) -> str:
    """The niceness each worker's processes run at, as the kernel reports it (ps)."""
    seen = set()
    for worker in workers:
        result = subprocess.run(["ps", "-o", "ni=", "--ppid", str(worker.pid), "-p", str(worker.pid)],
                                capture_output=True, text=True, check=False)
        seen.update(result.stdout.split())
    return ",".join(sorted(seen, key=int)) or "unknown"


def upload(port: int, token: str, path: Path, month: date) -> tuple[int, int]:
    """POST the file as multipart; returns (status, submission id)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"activity_month\"\r\n\r\n"
            f"{month:%Y-%m}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: text/csv\r\n\r\n").encode()
    body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(HOST, port, timeout=300)
    try:
        conn.request("POST", "/api/submissions/", body=body, headers={
            "Authorization": f"Token {token}", "X-Forwarded-Proto": "https",
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status not in (200, 201):
        raise SystemExit(f"upload of {path.name} answered {response.status}: {data[:300]!r}")
    import json

    return response.status, int(json.loads(data)["submission_id"])


def finished(ids: list[int]) -> int:
    from submissions.choices import FINISHED_STATUSES
    from submissions.models import Submission

    return Submission.objects.filter(pk__in=ids, status__in=FINISHED_STATUSES).count()


def wait_for(ids: list[int], *, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while finished(ids) < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"not drained within {timeout:.0f} s: {finished(ids)} of {len(ids)}")
        time.sleep(0.05)
    return time.perf_counter()


def poll_loop(*, port: int, tokens: list[str], month: date, interval: float, stop_at: threading.Event,
              busy: threading.Event, latencies: list[float], errors: list[int],
              uploading: threading.Event | None = None,
              phases: tuple[list[float], list[float]] | None = None) -> None:
    """One poller: a status request each `interval` seconds; latencies kept while busy (and
    apart, those while files were still being uploaded)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    rng = random.Random()
    while not stop_at.is_set():
        token = rng.choice(tokens)
        start = time.perf_counter()
        try:
            conn.request("GET", f"/api/submissions/?activity_month={month:%Y-%m}", headers={
                "Authorization": f"Token {token}", "X-Forwarded-Proto": "https"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            status = 0
        took = time.perf_counter() - start
        if busy.is_set():
            latencies.append(took)
            if uploading is not None and phases is not None:
                phases[0 if uploading.is_set() else 1].append(took)
            if status != 200:
                errors.append(status)
        stop_at.wait(max(0.0, interval - took))
    conn.close()


def verify(ids: list[int], sizes: dict[str, int], month: date) -> dict[str, int]:
    """Files and records in and out, from the database."""
    from django.db.models import Count, Sum

    from submissions.models import Record, Submission

    versions = Submission.objects.filter(pk__in=ids)
    per_org = dict(versions.values_list("organisation_id").annotate(n=Count("id")))
    totals = versions.aggregate(rows=Sum("rows"), accepted=Sum("accepted_rows"),
                                rejected=Sum("rejected_rows"))
    # The records' primary key is (version, line): none is stored twice by construction, so
    # what is checked is that each version holds exactly the records it accepted (a lost or an
    # extra record shows), by one count per version on that key.
    stored_per = dict(Record.objects.filter(submission_id__in=ids).values_list("submission_id")
                      .annotate(n=Count("line")).order_by())
    accepted_per = dict(versions.values_list("id", "accepted_rows"))
    stored = sum(stored_per.values())
    mismatched = sum(1 for pk, n in accepted_per.items() if stored_per.get(pk, 0) != (n or 0))
    by_status = dict(versions.values_list("status").annotate(n=Count("id")))
    return {"files_sent": len(sizes), "versions": len(ids), "organisations": len(per_org),
            "twice": sum(1 for n in per_org.values() if n != 1),
            "records_sent": sum(sizes.values()), "rows_read": totals["rows"] or 0,
            "accepted": totals["accepted"] or 0, "rejected": totals["rejected"] or 0,
            "stored": stored, "mismatched": mismatched, "failed": by_status.get("failed", 0),
            "statuses": by_status}  # type: ignore[dict-item]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=150)
    parser.add_argument("--min-records", type=int, default=20_000)
    parser.add_argument("--max-records", type=int, default=40_000)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--redis-db", type=int, default=11, help="emptied at start and end (not 15 or 14: CI's)")
    parser.add_argument("--uploaders", type=int, default=8, help="concurrent uploads")
    parser.add_argument("--pollers", type=int, default=4, help="status polling threads")
    parser.add_argument("--poll-interval", type=float, default=0.25, help="seconds per poller")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to drain")
    parser.add_argument("--worker-nice", type=int, default=None,
                        help="the workers' DIDS_WORKER_NICE (default: the setting's, 5)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is dropped and made again).")
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    os.environ.update(DATABASE_URL=url, CELERY_BROKER_URL=broker,
                      DJANGO_SETTINGS_MODULE="dids_portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import redis

    redis_client = redis.Redis.from_url(broker)
    redis_client.flushdb()
    processes: list[subprocess.Popen[bytes]] = []

    def cleanup(*_: object) -> None:
        for process in processes:
            stop(process)
        processes.clear()
        with contextlib.suppress(Exception):
            redis_client.flushdb()

    # Ctrl-C and a plain kill both clean up (SIGINT is ignored in a background job otherwise).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="dids-bench-rush-") as tmp:
        folder = Path(tmp)
        os.environ["MEDIA_ROOT"] = str(folder / "media")  # uploads and the snapshot cache
        try:
            run(args, url=url, broker=broker, folder=folder, processes=processes)
        finally:
            cleanup()


def run(args: argparse.Namespace, *, url: str, broker: str, folder: Path,
        processes: list[subprocess.Popen[bytes]]) -> None:
    from submissions.engine.context import LONDON, add_months

    load_start = os.getloadavg()
    setup_database(url)
    month = add_months(datetime.now(LONDON).date().replace(day=1), -1)
    organisations = codes(args.organisations)
    rng = random.Random(13)
    sizes = {code: rng.randint(args.min_records, args.max_records) for code in organisations}
    alone_rows = round(statistics.mean(sizes.values()))
    tokens = seed(organisations)
    start = time.perf_counter()
    paths = generate(folder, {ALONE: alone_rows, **sizes}, month)
    print(f"generated {len(paths)} files, {alone_rows + sum(sizes.values()):,} records, in "
          f"{time.perf_counter() - start:.1f} s", flush=True)
    from django.db import connections

    connections.close_all()

    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": broker, "DEBUG": "0",
           "SECRET_KEY": "bench-only-" + os.urandom(8).hex(), "ALLOWED_HOSTS": HOST,
           "SECURE_PROXY_SSL_HEADER": "1"}
    if args.worker_nice is not None:
        env["DIDS_WORKER_NICE"] = str(args.worker_nice)
    port = free_port()
    processes.append(start_gunicorn(env=env, port=port, log_dir=folder))
    for n in range(1, args.workers + 1):
        processes.append(start_worker(env=env, n=n, log_dir=folder))
    time.sleep(3)  # the workers connect to the broker
    nice = worker_niceness(processes[1:])

    # 1. One file alone: one worker's single-file rate, upload to processed. Sent twice, and
    # the second timed: the first warms a worker (its first task loads the engine).
    for _ in range(2):
        start = time.perf_counter()
        _, alone_id = upload(port, tokens[ALONE], paths[ALONE], month)
        alone_seconds = wait_for([alone_id], timeout=args.timeout) - start
    single_rate = alone_rows / alone_seconds
    print(f"alone: {alone_rows:,} records in {alone_seconds:.2f} s = {single_rate:,.0f} "
          "records/s", flush=True)

    # 2. The rush: every organisation's file, uploaders at a time, while pollers poll.
    stop_polls, busy, uploading = threading.Event(), threading.Event(), threading.Event()
    latencies: list[float] = []
    while_uploading: list[float] = []
    drain_only: list[float] = []
    poll_errors: list[int] = []
    pollers = [threading.Thread(target=poll_loop, daemon=True, kwargs={
        "port": port, "tokens": [tokens[c] for c in organisations], "month": month,
        "interval": args.poll_interval, "stop_at": stop_polls, "busy": busy,
        "latencies": latencies, "errors": poll_errors, "uploading": uploading,
        "phases": (while_uploading, drain_only)}) for _ in range(args.pollers)]
    for poller in pollers:
        poller.start()
    busy.set()
    uploading.set()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.uploaders) as pool:
        receipts = list(pool.map(lambda c: upload(port, tokens[c], paths[c], month), organisations))
    uploaded = time.perf_counter() - start
    uploading.clear()
    ids = [submission_id for _, submission_id in receipts]
    print(f"uploaded {len(ids)} files in {uploaded:.1f} s", flush=True)
    drained = wait_for(ids, timeout=args.timeout) - start
    busy.clear()
    stop_polls.set()
    for poller in pollers:
        poller.join()
    load_end = os.getloadavg()
    result = verify(ids, sizes, month)
    rate = result["records_sent"] / drained
    expected = single_rate * args.workers

    print(f"machine: {os.cpu_count()} cores; load average {load_start[0]:.2f} at the start, "
          f"{load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} at the end")
    print(f"gunicorn {os.environ.get('GUNICORN_WORKERS', '2')} x "
          f"{os.environ.get('GUNICORN_THREADS', '8')}, {args.workers} Celery workers (ingest "
          f"queue, 1 process each, niceness {nice} (DIDS_WORKER_NICE), gunicorn's "
          f"{os.getpriority(os.PRIO_PROCESS, 0)}), {args.uploaders} concurrent uploads, "
          f"{args.pollers} pollers every {args.poll_interval} s")
    print(f"files: {result['files_sent']} sent, {result['versions']} versions for "
          f"{result['organisations']} organisations, {result['twice']} with other than one; "
          f"statuses {result['statuses']}")
    print(f"records: {result['records_sent']:,} sent, {result['rows_read']:,} read, "
          f"{result['accepted']:,} accepted + {result['rejected']:,} rejected, "
          f"{result['stored']:,} stored; {result['mismatched']} versions holding other than the "
          "records they accepted (none stored twice: the key is version and line)")
    lost = result["records_sent"] - result["rows_read"]
    ok = (lost == 0 and result["stored"] == result["accepted"] and result["mismatched"] == 0
          and result["twice"] == 0 and result["versions"] == result["files_sent"])
    print(f"nothing lost, nothing twice: {'yes' if ok else 'NO'}")
    print(f"drain: {drained:.1f} s ({uploaded:.1f} s of uploads) = {rate:,.0f} records/s; one "
          f"file alone {single_rate:,.0f} records/s x {args.workers} workers = {expected:,.0f}; "
          f"ratio {rate / expected:.2f}x (goal >= 0.80x)")
    print(f"status polls while busy: {len(latencies)} requests, p50 {pct(latencies, 0.5):.0f} ms, "
          f"p95 {pct(latencies, 0.95):.0f} ms (goal < 300 ms), {len(poll_errors)} not 200")
    print(f"  of them while files were being uploaded (the web receiving them): "
          f"{len(while_uploading)}, p50 {pct(while_uploading, 0.5):.0f} ms, p95 "
          f"{pct(while_uploading, 0.95):.0f} ms; after the uploads (the workers draining): "
          f"{len(drain_only)}, p50 {pct(drain_only, 0.5):.0f} ms, p95 {pct(drain_only, 0.95):.0f} ms")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
