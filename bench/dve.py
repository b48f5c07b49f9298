"""Benchmark: dids_check against NHS England's Data Validation Engine (DVE), whole processes.

    .venv/bin/python bench/dve.py [--rows 1000000] [--repeat 1] [--venv DIR] [--skip-dve]

Set-up (not timed): a scratch virtual environment in bench/out/dve-venv/ with
``data-validation-engine==0.9.0`` from PyPI (made once, never committed); a clean v1.0 file of
--rows records (bench/out/); a DIDS contract of our own for the DVE (bench/out/dve/dids.dischema.json,
written here from layouts.toml and the sample reference data): the 18 v1.0 items with the DVE's
types (its ``nhsnumber`` type with the modulus 11 check, ``postcode``, dates), the mandatory
items, the code lists (DIDS003, DIDS012, DIDS014, DIDS021) and representative cross-field rules
of rules.toml (DIDS027, DIDS034, DIDS043, DIDS048, DIDS006, DIDS056, P016, DIDS072) as DuckDB
filters; the SQLite database of bench/startup.py for dids_check.

Timed, each as a whole process (interpreter start-up and imports included), the best of
--repeat runs: ``manage.py dids_check`` of the file, and the DVE's DuckDB pipeline
(``DDBDVEPipeline.cluster_pipeline_run``: audit, file transformation, data contract, business
rules, error report) over the same file. Prints both wall times, peak RSS and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
VENV = OUT / "dve-venv"
WORK = OUT / "dve"
DVE = "data-validation-engine==0.9.0"
MONTH = date(2026, 2, 1)
TARGET = 60.0

# The DVE's field types for our v1.0 item kinds; codes and text stay strings.
DVE_TYPES: dict[str, object] = {"nhs_number": "nhsnumber", "postcode": {"callable": "postcode"}, "date": "date"}

# Run with the scratch environment's interpreter: the DVE's pipeline over one submission.
DRIVER = r'''
import json, os, shutil, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import duckdb
from dve.core_engine.backends.implementations.duckdb.auditing import DDBAuditingManager
from dve.pipeline.duckdb_pipeline import DDBDVEPipeline

work, csv, dischema = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), sys.argv[3]
run = work / "run"
shutil.rmtree(run, ignore_errors=True)
(run / "submitted").mkdir(parents=True)
(run / "processed").mkdir()
shutil.copy(csv, run / "submitted" / "dids.csv")
(run / "submitted" / "dids.metadata.json").write_text(json.dumps({
    "file_name": "dids", "file_extension": "csv", "file_size": csv.stat().st_size,
    "dataset_id": "dids", "datetime_received": "2026-03-01T12:00:00Z"}))
db = run / "audit.duckdb"
conn = duckdb.connect(str(db))
# cluster_pipeline_run enters the audit manager itself (a second `with` around it never ends)
audit = DDBAuditingManager(db.as_uri(), ThreadPoolExecutor(1), conn)
pipeline = DDBDVEPipeline(processed_files_path=(run / "processed").as_posix(), audit_tables=audit,
                          job_run_id=1, connection=conn, rules_path=dischema,
                          submitted_files_path=(run / "submitted").as_posix())
reports = [r for batch in pipeline.cluster_pipeline_run(max_workers=2) for r in batch]
import polars as pl
errors = sorted(run.glob("processed/*/audit/error_aggregates.parquet"))
counts = pl.read_parquet(errors[0]).to_dicts() if errors else []
print(json.dumps({"reports": len(reports), "error_aggregates": counts}, default=str), flush=True)
# The audit manager's worker threads keep the interpreter alive after the run: end it here.
os._exit(0)
'''


def venv_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", DVE], check=True)
    return python


def dischema() -> dict:
    """Our DIDS v1.0 contract in the DVE's terms."""
    sys.path.insert(0, str(ROOT))
    from submissions.engine import ReferenceSnapshot
    from submissions.engine.layout import load_layouts

    layout = load_layouts()["1.0"]
    reference = ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample")
    fields = {it.column: DVE_TYPES.get(it.kind, "str") for it in layout.items}
    mandatory = ["patient_source_setting", "test_date", "site_code", "accession_number"]
    filters = []
    for it in layout.items:
        if it.code_list:
            codes = ", ".join("'" + c.replace("'", "''") + "'" for c in reference.codes(it.code_list))
            filters.append({"entity": "dids", "name": f"{it.column}_in_list",
                            "expression": f"{it.column} IS NULL OR {it.column} IN ({codes})",
                            "error_code": "CODE_LIST", "reporting_field": it.column,
                            "failure_message": f"{it.name} is not in its code list"})
    not_later = [("request_date", "request_received_date", "DIDS027"), ("request_date", "test_date", "DIDS034"),
                 ("request_received_date", "test_date", "DIDS043"), ("test_date", "report_date", "DIDS048"),
                 ("birth_date", "test_date", "DIDS006")]
    for a, b, rule in not_later:
        filters.append({"entity": "dids", "name": rule, "expression": f"{a} IS NULL OR {b} IS NULL OR {a} <= {b}",
                        "error_code": rule, "reporting_field": a, "failure_message": f"{a} after {b}"})
    month_end = date(MONTH.year + MONTH.month // 12, MONTH.month % 12 + 1, 1)
    filters += [
        {"entity": "dids", "name": "DIDS056", "expression": "nicip_code IS NOT NULL OR snomed_code IS NOT NULL",
         "error_code": "DIDS056", "reporting_field": "nicip_code", "failure_message": "no imaging code"},
        {"entity": "dids", "name": "P016",
         "expression": f"test_date >= DATE '{MONTH}' AND test_date < DATE '{month_end}'",
         "error_code": "P016", "reporting_field": "test_date", "failure_message": "outside the month"},
        {"entity": "dids", "name": "DIDS072", "expression": "length(accession_number) <= 20",
         "error_code": "DIDS072", "reporting_field": "accession_number", "failure_message": "too long"},
    ]
    return {"contract": {"datasets": {"dids": {
        "fields": fields, "mandatory_fields": mandatory,
        "reader_config": {".csv": {"reader": "DuckDBCSVReader"}}}}},
        "transformations": {"filters": filters}}


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT,
          codes: tuple[int, ...] = (0,)) -> tuple[float, float, str]:
    """Wall seconds, the child's peak RSS (MB) and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode not in codes:
        raise SystemExit(f"{argv[:3]} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--venv", type=Path, default=VENV, help="the DVE's scratch environment (made if missing)")
    parser.add_argument("--skip-dve", action="store_true", help="time dids_check only")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from startup import CHECK_ARGS, django_env, run

    from submissions.engine import ReferenceSnapshot, generate_file

    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    csv = OUT / f"dve_v1_{args.rows}.csv"
    if not csv.exists():
        generate_file(csv, rows=args.rows, org="RR8", month=MONTH, dataset_version="1.0",
                      reference=ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample"),
                      seed=2026, error_rate=0.0)
    sqlite = f"sqlite:///{OUT / 'startup.sqlite3'}"
    for command in (["migrate", "-v0"], ["load_reference"]):
        run([sys.executable, "manage.py", *command], django_env(sqlite), ROOT)
    schema = WORK / "dids.dischema.json"
    schema.write_text(json.dumps(dischema(), indent=2))
    print(f"{args.rows:,} records, {csv.stat().st_size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    check = [sys.executable, "manage.py", "dids_check", str(csv), *CHECK_ARGS]
    ours = min(timed(check, django_env(sqlite))[0] for _ in range(args.repeat))
    print(f"{'manage.py dids_check':<32}{ours:>9.2f} s", flush=True)
    if args.skip_dve:
        return
    python = venv_python(args.venv)
    driver = WORK / "driver.py"
    driver.write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    walls = []
    for _ in range(args.repeat):
        wall, _rss, out = timed([str(python), str(driver), str(WORK), str(csv), schema.as_posix()], env, WORK)
        walls.append(wall)
        print(f"  DVE run: {wall:.1f} s; {out.strip().splitlines()[-1] if out.strip() else 'no output'}", flush=True)
    theirs = min(walls)
    shutil.rmtree(WORK / "run", ignore_errors=True)
    print(f"{'DVE 0.9.0 DuckDB pipeline':<32}{theirs:>9.2f} s")
    print(f"dids_check is {theirs / ours:.1f}x faster (target >= {TARGET:.0f}x); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
