"""Benchmark: ingesting a DIDS file (parse, validate, store a version) on PostgreSQL.

Prints, from one run on this machine:
  1. a plain COPY of the generated file into a table of the same shape (the baseline) against
     the portal's ingest of the same file (submission_create + submission_process), with the
     ratio (target <= 1.5x) and the ingest's peak memory (target <= 1 GiB);
  2. django-import-export (default resource, and its tuned bulk mode) against the portal's
     ingest of the same 20k-row file (targets >= 100x and >= 20x).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench .venv/bin/python bench/ingest.py
       [--rows 1000000] [--small-rows 20000] [--repeat 5] [--skip-import-export]
Each measured phase runs in its own process, so peak memory is that phase's own. The COPY and
the ingest run in turn --repeat times, each after a CHECKPOINT (so that neither pays for the
other's dirty pages); the best of each is compared, since other work on a shared machine only
ever slows a run down, and so is the median of the rounds' own ratios (each round's COPY and
ingest run back to back, so a slow spell of the machine touches both).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MONTH = date(2026, 2, 1)
AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Europe/London"))
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
    period_reopen(actor=operator, organisation_code="RR8", month=MONTH,
                  reason="ingest benchmark", expires_at=timezone.now() + timedelta(days=1))


def generate(rows: int, error_rate: float = 0.01) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"ingest-{rows}-{error_rate}.csv"
    if not path.exists():
        from reference.loaders import SAMPLE_DIR
        from submissions.engine import ReferenceSnapshot, generate_file

        generate_file(path, rows=rows, org="RR8", month=MONTH, dataset_version="1.0",
                      reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), error_rate=error_rate,
                      seed=2026)
    return path


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


def checkpoint() -> None:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def run_phase(name: str, path: Path, *extra: str) -> dict[str, float]:
    checkpoint()
    output = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--file", str(path), *extra],
        check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small-rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-import-export", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--file")
    parser.add_argument("--tuned", action="store_true")
    args = parser.parse_args()
    if args.phase:
        path = Path(args.file)
        result = {"copy": lambda: phase_copy(path), "ingest": lambda: phase_ingest(path),
                  "import_export": lambda: phase_import_export(path, args.tuned)}[args.phase]()
        print(json.dumps(result))
        return

    ensure_database()
    print(f"machine: {os.cpu_count()} cores; PostgreSQL at {os.environ['DATABASE_URL'].split('@')[-1]}")
    big = generate(args.rows)
    size_mb = big.stat().st_size / 1e6
    rounds = []
    for _ in range(max(1, args.repeat)):
        rounds.append((run_phase("copy", big), run_phase("ingest", big)))
    copy = min((c for c, _ in rounds), key=lambda r: r["seconds"])
    ingest = min((i for _, i in rounds), key=lambda r: r["seconds"])
    print(f"\n1. {args.rows:,}-row v1.0 file ({size_mb:.0f} MB), best of {len(rounds)} rounds")
    for number, (c, i) in enumerate(rounds, 1):
        print(f"   round {number}: COPY {c['seconds']:.2f} s, ingest {i['seconds']:.2f} s, "
              f"ratio {i['seconds'] / c['seconds']:.2f}x")
    print(f"   plain COPY of the file (baseline): {copy['seconds']:7.2f} s "
          f"({copy['rows'] / copy['seconds']:,.0f} rows/s)")
    print(f"   portal ingest (parse, validate, store a version): {ingest['seconds']:7.2f} s "
          f"({ingest['rows'] / ingest['seconds']:,.0f} rows/s), {ingest['stored']:,} records stored, "
          f"status {ingest['status']}")
    ratios = sorted(i["seconds"] / c["seconds"] for c, i in rounds)
    print(f"   ratio ingest / COPY, best times: {ingest['seconds'] / copy['seconds']:.2f}x; "
          f"median of the rounds' own ratios: {ratios[len(ratios) // 2]:.2f}x (target <= 1.5x)")
    peak = max(i["peak_mib"] for _, i in rounds)
    print(f"   ingest peak memory (RSS), highest of the rounds: {peak:.0f} MiB (target <= 1024 MiB)")

    if not args.skip_import_export:
        small = generate(args.small_rows, error_rate=0.0)  # import-export has no validation
        engine = run_phase("ingest", small)
        default = run_phase("import_export", small)
        tuned = run_phase("import_export", small, "--tuned")
        print(f"\n2. {args.small_rows:,}-row file")
        print(f"   portal ingest: {engine['seconds']:.3f} s ({engine['stored']:,} records stored)")
        print(f"   django-import-export, default resource: {default['seconds']:.2f} s "
              f"-> portal is {default['seconds'] / engine['seconds']:.0f}x faster (target >= 100x)")
        print(f"   django-import-export, use_bulk + skip_diff + force_init_instance: "
              f"{tuned['seconds']:.2f} s -> portal is {tuned['seconds'] / engine['seconds']:.0f}x "
              "faster (target >= 20x)")


if __name__ == "__main__":
    main()
