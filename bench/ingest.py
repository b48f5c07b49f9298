"""Benchmark: ingesting a DIDS file (parse, validate, store a version) on PostgreSQL.

Prints, from one run on this machine:
  1. the whole `manage.py dids_submit` process (start-up, spool, validate, store) of a v2.0
     file against `psql \\copy` of the same file into a text table of its 22 columns, every
     round's ratio and the median of the rounds' ratios (target <= 1.2x), and the command's
     peak memory (target <= 1 GiB);
  2. the service alone (submission_create + submission_process, in a process of its own)
     against a COPY of a v1.0 file from Python;
  3. the two binary COPY encoders on the same accepted records into a copy of the record
     table, one transaction each: submissions/pgcopy.py (numpy/Arrow, written through
     psycopg) against ADBC's adbc_ingest (adbc-driver-postgresql, C++, its own connection),
     with wall time, client CPU and the server backend's CPU;
  4. django-import-export (default resource, and its tuned bulk mode) against the portal's
     ingest of the same 20k-row file (targets >= 100x and >= 20x).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench .venv/bin/python bench/ingest.py
       [--rows 1000000] [--small-rows 20000] [--repeat 5] [--skip-in-process]
       [--skip-loaders] [--skip-import-export] [--root OTHER_CHECKOUT]
--root runs another checkout's manage.py dids_submit beside this one's in each round (the two
in alternating order), e.g. `git archive` of the code before a change, for a side-by-side run.
Part 1 also prints CPU seconds: the command's own and, with PostgreSQL on this machine, its
database backends' (read from /proc), which a busy shared machine changes less than wall time.
Each measured phase runs in its own process, so peak memory is that phase's own. The phases
run in turn --repeat times, each after a CHECKPOINT (so that none pays for another's dirty
pages); each round's two runs go back to back, so a slow spell of the machine touches both,
and the median of the rounds' own ratios is the figure to read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MONTH = date(2026, 2, 1)
AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
V2_MONTH = date(2026, 10, 1)  # a DIDS v2.0 month, reopened as MONTH is
V2_AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
MEDIA = OUT / "media"  # the stored uploads of the benchmark's versions, emptied each round
sys.path.insert(0, str(ROOT))


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_database() -> None:
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is created if missing).")
    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        sys.exit("The benchmark drops and recreates its database: give it one whose name "
                 "says bench (dids_bench).")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:  # every run starts from empty tables
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_reference", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    # v1.0 months are past their final deadline: reopen the bench month for RR8, as the
    # national team would for a late resubmission.
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from submissions.cycle.services import period_reopen

    operator, _ = User.objects.get_or_create(email="bench@dids.invalid",
                                             defaults={"is_active": False})
    for month in (MONTH, V2_MONTH):
        period_reopen(actor=operator, organisation_code="RR8", month=month,
                      reason="ingest benchmark", expires_at=timezone.now() + timedelta(days=1))


def generate(rows: int, error_rate: float = 0.01, version: str = "1.0") -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "" if version == "1.0" else f"-v{version}"
    path = OUT / f"ingest-{rows}-{error_rate}{suffix}.csv"
    if not path.exists():
        from reference.loaders import SAMPLE_DIR
        from submissions.engine import ReferenceSnapshot, generate_file

        generate_file(path, rows=rows, org="RR8", month=MONTH if version == "1.0" else V2_MONTH,
                      dataset_version=version, reference=ReferenceSnapshot.from_directory(SAMPLE_DIR),
                      error_rate=error_rate, seed=2026)
    return path


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# Phases, each run in a fresh process -------------------------------------------------------

def phase_copy(path: Path) -> dict[str, float]:
    """The baseline: COPY the file as it is into a table of the same shape."""
    django_setup()
    from django.db import connection

    header = path.open(encoding="utf-8").readline().strip().split(",")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        columns = ", ".join(f'"{c}" text' for c in header)
        cursor.execute(f"CREATE TABLE bench_copy_baseline (id bigserial PRIMARY KEY, {columns})")
    connection.commit() if not connection.get_autocommit() else None
    start = time.perf_counter()
    with connection.cursor() as cursor, path.open("rb") as handle:
        quoted = ", ".join(f'"{c}"' for c in header)
        with cursor.cursor.copy(f"COPY bench_copy_baseline ({quoted}) FROM STDIN "
                                "WITH (FORMAT csv, HEADER true)") as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_copy_baseline")
        rows = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_copy_baseline")
    return {"seconds": seconds, "rows": rows, "peak_mib": peak_mib()}


def phase_ingest(path: Path) -> dict[str, float]:
    django_setup()
    from submissions.services import submission_create, submission_process

    start = time.perf_counter()
    with path.open("rb") as handle:
        submission, _ = submission_create(actor=None, organisation_code="RR8",
                                          activity_month=MONTH, upload=handle,
                                          original_name=path.name, as_of=AS_OF,
                                          enqueue=lambda pk: None)
    submission_process(submission_id=submission.pk)
    seconds = time.perf_counter() - start
    submission.refresh_from_db()
    return {"seconds": seconds, "rows": submission.rows or 0,
            "stored": submission.records.count(), "status": submission.status,
            "peak_mib": peak_mib()}


def phase_import_export(path: Path, tuned: bool) -> dict[str, float]:
    """django-import-export loading the same file into the record table (no validation)."""
    django_setup()
    import tablib
    from import_export import resources

    from submissions.models import Record
    from submissions.services import submission_create

    with path.open("rb") as handle:  # a version to attach the rows to, not processed
        submission, _ = submission_create(actor=None, organisation_code="RR8",
                                          activity_month=MONTH, upload=handle,
                                          original_name=path.name, as_of=AS_OF,
                                          enqueue=lambda pk: None)
    dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    dataset.append_col([submission.pk] * dataset.height, header="submission")
    dataset.append_col(list(range(2, dataset.height + 2)), header="line")
    dataset.append_col(dataset["test_date"], header="activity_date")
    dataset.append_col(["OTHER"] * dataset.height, header="modality")
    dataset.append_col(["1.0"] * dataset.height, header="dataset_version")
    file_columns = [c for c in dataset.headers if c in {f.name for f in Record._meta.fields}]

    class Meta:
        model = Record
        fields = tuple(file_columns)
        import_id_fields: tuple[str, ...] = ()
        if tuned:
            use_bulk = True
            skip_diff = True
            force_init_instance = True
            batch_size = 1000

    resource_class = type("RecordResource", (resources.ModelResource,), {"Meta": Meta})
    start = time.perf_counter()
    result = resource_class().import_data(dataset, dry_run=False, raise_errors=True)
    seconds = time.perf_counter() - start
    stored = Record.objects.filter(submission=submission).count()
    Record.objects.filter(submission=submission).delete()
    assert not result.has_errors()
    return {"seconds": seconds, "rows": dataset.height, "stored": stored, "peak_mib": peak_mib()}


# Whole processes: what an operator runs, start-up included -----------------------------

# Runs a command and writes its wall time and own peak memory to a file. A small process of
# its own, because a child forked from this one (Python forks with vfork) would count this
# process's memory as its own peak until it execs.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"seconds": time.perf_counter() - start, "peak_mib": usage.ru_maxrss / 1024,
               "cpu": usage.ru_utime + usage.ru_stime,
               "returncode": os.waitstatus_to_exitcode(status)}, out)
"""


class ServerCpu:
    """The CPU seconds of the benchmark database's client backends while a command runs (the
    server's share of its work), when PostgreSQL runs on this machine: every backend that
    connects to the database after the watcher is read from /proc every 50 ms, and each one's last
    reading counts (so up to 50 ms of a backend's last moments can be missed)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.local = True
        self._stop = threading.Event()
        self._ready = threading.Event()  # set once the watcher's start time is taken
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        import psycopg

        url = os.environ["DATABASE_URL"]
        with psycopg.connect(url, autocommit=True) as conn:
            own = conn.info.backend_pid
            since = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            self._ready.set()
            while True:
                pids = [row[0] for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> %s AND backend_start >= %s",
                    [own, since])]
                for pid in pids:
                    cpu = backend_cpu(pid)
                    if cpu is None:
                        self.local = False
                    else:
                        self.seen[pid] = cpu
                if self._stop.wait(0.05):
                    return

    def __enter__(self) -> ServerCpu:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def seconds(self) -> float | None:
        return sum(self.seen.values()) if self.local and self.seen else None


def timed(command: list[str], env: dict[str, str] | None = None, *, cwd: Path = ROOT,
          server: bool = False) -> dict[str, Any]:
    """Run a command to its end: wall seconds, its own peak memory (RSS) and CPU seconds, its
    output; with ``server``, also its database backends' CPU seconds (``server_cpu``)."""
    with (tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr,
          tempfile.NamedTemporaryFile("r") as figures):
        watch = ServerCpu() if server else contextlib.nullcontext()
        with watch:
            subprocess.run([sys.executable, "-c", LAUNCHER, figures.name, *command], cwd=cwd,
                           env=env, stdout=stdout, stderr=stderr, check=True)
        result = json.load(figures)
        result["server_cpu"] = watch.seconds() if isinstance(watch, ServerCpu) else None
        stdout.seek(0)
        stderr.seek(0)
        result["stdout"] = stdout.read()
        err = stderr.read()
    if result["returncode"] not in (0, 1):  # 1: dids_submit's "rejected" (not expected here)
        sys.exit(f"{command[0]} failed ({result['returncode']}): {err[-2000:]}")
    return result


def psql_copy(path: Path) -> dict[str, Any]:
    """The baseline: psql's \\copy of the file into a text table of its columns."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    header = path.open(encoding="utf-8").readline().strip().split(",")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        columns = ", ".join(f'"{c}" text' for c in header)
        conn.execute(f"CREATE TABLE bench_copy_baseline (id bigserial PRIMARY KEY, {columns})")
    quoted = ", ".join(f'"{c}"' for c in header)
    result = timed(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                    f"\\copy bench_copy_baseline ({quoted}) FROM '{path}' "
                    "WITH (FORMAT csv, HEADER true)"], server=True)
    with psycopg.connect(url, autocommit=True) as conn:
        result["rows"] = conn.execute("SELECT count(*) FROM bench_copy_baseline").fetchone()[0]
        conn.execute("DROP TABLE bench_copy_baseline")
    return result


def dids_submit(path: Path, month: date, as_of: datetime, root: Path = ROOT) -> dict[str, Any]:
    """manage.py dids_submit of the file (``root``'s manage.py): start-up, spool, validate,
    store, exit."""
    shutil.rmtree(MEDIA, ignore_errors=True)
    env = {**os.environ, "MEDIA_ROOT": str(MEDIA)}
    result = timed([sys.executable, "manage.py", "dids_submit", str(path), "--org", "RR8",
                    "--month", f"{month:%Y-%m}", "--as-of", as_of.isoformat(),
                    "--format", "json"], env=env, cwd=root, server=True)
    summary = json.loads(result["stdout"])
    result.update(rows=summary["rows"], stored=summary["accepted_rows"], status=summary["status"])
    return result


def _cpu(run: dict[str, Any]) -> str:
    server = run.get("server_cpu")
    total = run["cpu"] + (server or 0.0)
    return (f"CPU {run['cpu']:.2f} s + server {server:.2f} s = {total:.2f} s" if server is not None
            else f"CPU {run['cpu']:.2f} s (server not measured)")


def _total_cpu(run: dict[str, Any]) -> float:
    return float(run["cpu"] + (run.get("server_cpu") or 0.0))


def whole_process(path: Path, rows: int, repeat: int, root: Path | None = None) -> None:
    """Each round: psql \\copy, then dids_submit (and, with ``root``, the other checkout's
    dids_submit, the two in alternating order), back to back."""
    size_mb = path.stat().st_size / 1e6
    rounds: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]] = []
    for number in range(max(1, repeat)):
        load_start = load_average()
        checkpoint()
        copy = psql_copy(path)
        runs: dict[str, dict[str, Any]] = {}
        order = ["this", "other"] if root is None or number % 2 == 0 else ["other", "this"]
        for which in order:
            if which == "this" or root is not None:
                checkpoint()
                runs[which] = dids_submit(path, V2_MONTH, V2_AS_OF, ROOT if which == "this" else root)
        copy["load"] = f"{load_start} -> {load_average()}"
        rounds.append((copy, runs["this"], runs.get("other")))
    print(f"\n1. {rows:,}-row v2.0 file ({size_mb:.0f} MB, 1% errors), whole processes, "
          f"{len(rounds)} rounds" + (f"; the other checkout: {root}" if root else ""))
    for number, (c, i, o) in enumerate(rounds, 1):
        print(f"   round {number} (load {c['load']}): psql \\copy {c['seconds']:.2f} s ({_cpu(c)}); "
              f"dids_submit {i['seconds']:.2f} s ({_cpu(i)}), ratio {i['seconds'] / c['seconds']:.2f}x, "
              f"CPU ratio {_total_cpu(i) / _total_cpu(c):.2f}x")
        if o is not None:
            print(f"      the other checkout's dids_submit {o['seconds']:.2f} s ({_cpu(o)}), ratio "
                  f"{o['seconds'] / c['seconds']:.2f}x, CPU ratio {_total_cpu(o) / _total_cpu(c):.2f}x; "
                  f"this / other {i['seconds'] / o['seconds']:.2f}x wall, "
                  f"{_total_cpu(i) / _total_cpu(o):.2f}x CPU")
    last = rounds[-1][1]
    print(f"   dids_submit stored {last['stored']:,} of {last['rows']:,} records, status {last['status']}")
    copies = [c["seconds"] for c, _, _ in rounds]
    submits = [i["seconds"] for _, i, _ in rounds]
    print(f"   psql \\copy into a {len(path.open().readline().split(','))}-column text table "
          f"(baseline): median {median(copies):.2f} s, best {min(copies):.2f} s, median CPU "
          f"(psql and its backend) {median([_total_cpu(c) for c, _, _ in rounds]):.2f} s")
    print(f"   manage.py dids_submit (start-up, spool, validate, store): median "
          f"{median(submits):.2f} s, best {min(submits):.2f} s, median CPU (the process and "
          f"its backends) {median([_total_cpu(i) for _, i, _ in rounds]):.2f} s")
    ratios = [i["seconds"] / c["seconds"] for c, i, _ in rounds]
    cpu_ratios = [_total_cpu(i) / _total_cpu(c) for c, i, _ in rounds]
    print(f"   median of the rounds' own ratios: {median(ratios):.2f}x (target <= 1.2x); "
          f"best times {min(submits) / min(copies):.2f}x; CPU {median(cpu_ratios):.2f}x")
    if root is not None:
        others = [o for _, _, o in rounds if o is not None]
        print(f"   the other checkout: median {median([o['seconds'] for o in others]):.2f} s, "
              f"median of the rounds' ratios {median([o['seconds'] / c['seconds'] for c, _, o in rounds if o]):.2f}x, "
              f"CPU {median([_total_cpu(o) / _total_cpu(c) for c, _, o in rounds if o]):.2f}x; "
              f"this / other, median of the rounds: "
              f"{median([i['seconds'] / o['seconds'] for _, i, o in rounds if o]):.2f}x wall, "
              f"{median([_total_cpu(i) / _total_cpu(o) for _, i, o in rounds if o]):.2f}x CPU")
    peak = max(i["peak_mib"] for _, i, _ in rounds)
    print(f"   dids_submit peak memory (RSS): {peak:.0f} MiB (target <= 1024 MiB)")


def in_process(big: Path, rows: int, repeat: int) -> None:
    """The service alone (no start-up) against COPY from Python, each in its own process."""
    size_mb = big.stat().st_size / 1e6
    rounds = []
    for _ in range(max(1, repeat)):
        rounds.append((run_phase("copy", big), run_phase("ingest", big)))
    copy = min((c for c, _ in rounds), key=lambda r: r["seconds"])
    ingest = min((i for _, i in rounds), key=lambda r: r["seconds"])
    print(f"\n2. {rows:,}-row v1.0 file ({size_mb:.0f} MB), in one process each, {len(rounds)} rounds")
    for number, (c, i) in enumerate(rounds, 1):
        print(f"   round {number}: COPY {c['seconds']:.2f} s, ingest {i['seconds']:.2f} s, "
              f"ratio {i['seconds'] / c['seconds']:.2f}x")
    print(f"   plain COPY of the file (baseline): {copy['seconds']:7.2f} s "
          f"({copy['rows'] / copy['seconds']:,.0f} rows/s)")
    print(f"   portal ingest (parse, validate, store a version): {ingest['seconds']:7.2f} s "
          f"({ingest['rows'] / ingest['seconds']:,.0f} rows/s), {ingest['stored']:,} records stored, "
          f"status {ingest['status']}")
    ratios = [i["seconds"] / c["seconds"] for c, i in rounds]
    print(f"   ratio ingest / COPY, best times: {ingest['seconds'] / copy['seconds']:.2f}x; "
          f"median of the rounds' own ratios: {median(ratios):.2f}x")
    peak = max(i["peak_mib"] for _, i in rounds)
    print(f"   ingest peak memory (RSS), highest of the rounds: {peak:.0f} MiB (target <= 1024 MiB)")


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


# The two binary COPY encoders side by side --------------------------------------------------
# The same records (the engine's accepted rows of the v2.0 file, in the storage shape, kept
# in an Arrow file), the same table (a copy of the record table's shape and key, emptied
# before each run) and one transaction per load, committed at its end.

LOADER_TABLE = "bench_loader_records"


def prepare_loader_input(path: Path) -> Path:
    """The engine's accepted rows of the file, as the COPY receives them, in an Arrow file."""
    out = path.with_suffix(".records.arrow")
    if out.exists():
        return out
    import polars as pl
    import pyarrow as pa

    from submissions.engine import CheckContext, validate
    from submissions.loading import copied_columns
    from submissions.selectors import reference_snapshot_load

    snapshot, _release = reference_snapshot_load()
    context = CheckContext(submitting_org="RR8", month=V2_MONTH, as_of=V2_AS_OF,
                           dataset_version=None, final_deadline=None, reopened=True)
    columns = copied_columns("2.0")
    writer: list[pa.ipc.RecordBatchFileWriter] = []

    def keep(batch: pl.DataFrame) -> None:
        frame = batch.select(pl.lit(1, dtype=pl.Int64).alias("submission_id"), *columns)
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        if not writer:
            writer.append(pa.ipc.new_file(str(out), table.schema))
        writer[0].write_table(table)

    validate(path, context=context, reference=snapshot, on_clean_batch=keep,
             on_findings=lambda findings: None, max_findings=0)
    writer[0].close()
    return out


def backend_cpu(pid: int) -> float | None:
    """CPU seconds of a PostgreSQL backend (when the server runs on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase_loader(path: Path, loader: str) -> dict[str, Any]:
    """Load the Arrow file's records into the scratch table with one of the two encoders."""
    import psycopg
    import pyarrow as pa

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {LOADER_TABLE}")
        conn.execute("CHECKPOINT")
    source = pa.ipc.open_file(pa.memory_map(str(path)))
    batches = [source.get_batch(i) for i in range(source.num_record_batches)]
    rows = sum(batch.num_rows for batch in batches)
    if loader == "pgcopy":
        django_setup()  # the record table's column types, from the model
        import polars as pl

        from submissions.loading import _copy_sql, record_column_kinds
        from submissions.pgcopy import SIGNATURE, TRAILER, encode_rows

        columns = batches[0].schema.names
        kinds = record_column_kinds(columns[1:])
        with psycopg.connect(url) as conn:  # a transaction, as the version's
            pid = conn.info.backend_pid
            server, client, start = backend_cpu(pid), process_cpu(), time.perf_counter()
            with conn.cursor() as cursor, cursor.copy(
                    _copy_sql(LOADER_TABLE, columns, binary=True)) as copy:
                copy.write(SIGNATURE)
                for batch in batches:
                    copy.write(encode_rows(pl.from_arrow(batch), kinds))  # type: ignore[arg-type]
                copy.write(TRAILER)
            conn.commit()
            seconds, client, after = (time.perf_counter() - start, process_cpu() - client,
                                      backend_cpu(pid))
    else:
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(url) as conn:  # its own connection; autocommit off: a transaction
            with conn.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]  # type: ignore[index]
            server, client, start = backend_cpu(pid), process_cpu(), time.perf_counter()
            with conn.cursor() as cursor:
                # The table's line is int4: Arrow's int64 would be sent as int8.
                for batch in batches:
                    index = batch.schema.get_field_index("line")
                    batch = batch.set_column(index, "line", batch.column(index).cast(pa.int32()))
                    cursor.adbc_ingest(LOADER_TABLE, batch, mode="append")
            conn.commit()
            seconds, client, after = (time.perf_counter() - start, process_cpu() - client,
                                      backend_cpu(pid))
    with psycopg.connect(url, autocommit=True) as conn:
        stored = conn.execute(f"SELECT count(*) FROM {LOADER_TABLE}").fetchone()[0]  # type: ignore[index]
    return {"seconds": seconds, "client_cpu": client, "rows": rows, "stored": stored,
            "server_cpu": None if server is None or after is None else after - server,
            "peak_mib": peak_mib()}


def loaders(path: Path, repeat: int) -> None:
    import psycopg

    records = prepare_loader_input(path)
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {LOADER_TABLE}")
        conn.execute(f"CREATE TABLE {LOADER_TABLE} (LIKE submissions_record INCLUDING ALL)")
    rounds = []
    for number in range(max(1, repeat)):  # in turn, the first alternating
        order = ("pgcopy", "adbc") if number % 2 == 0 else ("adbc", "pgcopy")
        done = {name: run_phase("loader", records, "--loader", name) for name in order}
        rounds.append((done["pgcopy"], done["adbc"]))
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"DROP TABLE {LOADER_TABLE}")
    first = rounds[0][0]
    print(f"\n3. the binary COPY of the same {first['rows']:,} accepted records (the v2.0 file's), "
          f"one transaction each, {len(rounds)} rounds")

    def cpu(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f} s"

    for number, (own, adbc) in enumerate(rounds, 1):
        print(f"   round {number}: pgcopy {own['seconds']:.2f} s (client CPU {cpu(own['client_cpu'])}, "
              f"server CPU {cpu(own['server_cpu'])}), ADBC {adbc['seconds']:.2f} s (client CPU "
              f"{cpu(adbc['client_cpu'])}, server CPU {cpu(adbc['server_cpu'])}), "
              f"ratio ADBC / pgcopy {adbc['seconds'] / own['seconds']:.2f}x")
    for name, index in (("pgcopy (submissions/pgcopy.py + psycopg)", 0),
                        ("ADBC (adbc-driver-postgresql adbc_ingest)", 1)):
        runs = [r[index] for r in rounds]
        print(f"   {name}: median {median([r['seconds'] for r in runs]):.2f} s, client CPU median "
              f"{median([r['client_cpu'] for r in runs]):.2f} s, {runs[-1]['stored']:,} stored")
    ratios = [adbc["seconds"] / own["seconds"] for own, adbc in rounds]
    cpu_ratios = [adbc["client_cpu"] / own["client_cpu"] for own, adbc in rounds]
    print(f"   median ratio ADBC / pgcopy: wall {median(ratios):.2f}x, client CPU "
          f"{median(cpu_ratios):.2f}x (below 1: ADBC is faster)")


def checkpoint() -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def run_phase(name: str, path: Path, *extra: str) -> dict[str, float]:
    checkpoint()
    run = timed([sys.executable, __file__, "--phase", name, "--file", str(path), *extra])
    if run["returncode"]:
        sys.exit(f"phase {name} failed")
    result = json.loads(run["stdout"].strip().splitlines()[-1])
    result["peak_mib"] = run["peak_mib"]  # the process's own (see LAUNCHER)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-import-export", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--file")
    parser.add_argument("--tuned", action="store_true")
    parser.add_argument("--loader", choices=["pgcopy", "adbc"])
    parser.add_argument("--skip-loaders", action="store_true")
    parser.add_argument("--root", type=Path, help="another checkout (e.g. the code before a change, "
                        "from git archive) whose dids_submit runs beside this one's in each round")
    args = parser.parse_args()
    if args.phase:
        path = Path(args.file)
        result = {"copy": lambda: phase_copy(path), "ingest": lambda: phase_ingest(path),
                  "import_export": lambda: phase_import_export(path, args.tuned),
                  "loader": lambda: phase_loader(path, args.loader)}[args.phase]()
        print(json.dumps(result))
        return

    os.environ["MEDIA_ROOT"] = str(MEDIA)
    ensure_database()
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}; "
          f"PostgreSQL at {os.environ['DATABASE_URL'].split('@')[-1]}")
    v2 = generate(args.rows, version="2.0")
    whole_process(v2, args.rows, args.repeat, args.root)
    if not args.skip_in_process:
        in_process(generate(args.rows), args.rows, args.repeat)
    if not args.skip_loaders:
        loaders(v2, args.repeat)

    if not args.skip_import_export:
        small = generate(args.small_rows, error_rate=0.0)  # import-export has no validation
        engine = run_phase("ingest", small)
        default = run_phase("import_export", small)
        tuned = run_phase("import_export", small, "--tuned")
        print(f"\n4. {args.small_rows:,}-row file")
        print(f"   portal ingest: {engine['seconds']:.3f} s ({engine['stored']:,} records stored)")
        print(f"   django-import-export, default resource: {default['seconds']:.2f} s "
              f"-> portal is {default['seconds'] / engine['seconds']:.0f}x faster (target >= 100x)")
        print(f"   django-import-export, use_bulk + skip_diff + force_init_instance: "
              f"{tuned['seconds']:.2f} s -> portal is {tuned['seconds'] / engine['seconds']:.0f}x "
              "faster (target >= 20x)")


if __name__ == "__main__":
    main()
