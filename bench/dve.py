"""Benchmark: dids_check against NHS England's Data Validation Engine (DVE), whole processes.

    .venv/bin/python bench/dve.py [--rows 1000000] [--repeat 1] [--venv DIR] [--skip-dve]

Set-up (not timed): a scratch virtual environment in bench/out/dve-venv/ with
``data-validation-engine==0.9.0`` from PyPI (made once, never committed); a clean v1.0 file of
--rows records (bench/out/); the SQLite database of bench/startup.py for dids_check; and a DIDS
contract of our own for the DVE (bench/out/dve/dids.dischema.json, written by ``dischema()`` from
layouts.toml, rules.toml and the sample reference data; the filters report rule ids):
- data contract, run row by row through the DVE's Pydantic model: the 18 v1.0 items typed with
  the DVE's domain types (``permissivenhsno``: 10 digits after spaces and hyphens, modulus 11;
  ``postcode``; ``conformatteddate`` as CCYY-MM-DD, strict), the two lengths DIDS enforces
  (DIDS069, DIDS072) as ``constr``, the four mandatory items;
- business rules, DuckDB filters over the typed columns: the four code lists (DIDS003, DIDS012,
  DIDS014, DIDS021), five date orders (DIDS027, DIDS034, DIDS043, DIDS048, DIDS006), an imaging
  code given (DIDS056), the activity month (P016), and the NHS test range and sentinels as a
  warning (P020).
Not in it (dids_check does them): the other date orders and minimums, reference look-ups (sites,
organisations, imaging codes), SNOMED CT's check digit, duplicate keys, the patient-identifier
rules. The DVE's ``nhsnumber`` type is not used: it warns on every palindromic number (valid
numbers such as 4310000134; about 100 in a clean 1M file), a check DIDS does not make, and P020
covers the test range it also warns on. The audit manager is given no pool, as the DVE's DuckDB
guide sets it up: with one it writes from its own thread on the connection the stages query,
which failed the business rules after the first few filters or hung the run.

Timed, each as a whole process (interpreter start-up and imports included), the best of
--repeat runs: ``manage.py dids_check`` of the file, and the DVE's DuckDB pipeline
(``DDBDVEPipeline.cluster_pipeline_run``: audit, file transformation, data contract, business
rules, error report) over the same file. Prints each one's wall time, CPU time and peak RSS, the
DVE's record, rejection and warning counts, and the ratios; stops if the DVE run logged a
processing error or did not count every record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
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

# The DVE's domain types for our v1.0 item kinds; codes and text stay strings. `permissivenhsno` is
# its NHS number type (10 digits after removing spaces and hyphens, modulus 11) without the test-number
# warnings of `nhsnumber`, which also warns on every palindrome (4310000134 is a real, valid number):
# the test range and sentinels are DIDS's own warning P020, a filter below. Dates as the layout writes
# them (CCYY-MM-DD, strict): the plain `date` type also takes "0" or "2026-02-01T00:00:00".
DVE_TYPES: dict[str, object] = {
    "nhs_number": "permissivenhsno",
    "postcode": {"callable": "postcode"},
    "date": {"callable": "conformatteddate", "constraints": {"date_format": "%Y-%m-%d", "strict": True}},
}

# Run with the scratch environment's interpreter: the DVE's pipeline over one submission.
DRIVER = r'''
import json, os, shutil, sys
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
# Audit records written in line, as the DVE's DuckDB guide sets it up. Given a pool, the audit manager
# writes from a thread of its own on the same connection while the stages query it, which broke the
# business rules' queries ("unsuccessful or closed pending query result": the remaining filters never
# ran) or hung the run.
audit = DDBAuditingManager(db.as_uri(), connection=conn)
pipeline = DDBDVEPipeline(processed_files_path=(run / "processed").as_posix(), audit_tables=audit,
                          job_run_id=1, connection=conn, rules_path=dischema,
                          submitted_files_path=(run / "submitted").as_posix())
reports = list(pipeline.cluster_pipeline_run(max_workers=2))
import polars as pl
(done,) = sorted((run / "processed").iterdir())
errors = sorted(done.glob("audit/error_aggregates.parquet"))
counts = pl.read_parquet(errors[0]).drop("submission_id").to_dicts() if errors else []
stats = reports[0][2] if reports else None
problems = [json.loads(line) for f in done.glob("processing_errors/*.jsonl") for line in f.read_text().splitlines()]
print(json.dumps({"records": stats and stats.record_count, "rejections": stats and stats.number_record_rejections,
                  "warnings": stats and stats.number_warnings, "error_aggregates": counts,
                  "processing_errors": [p["error_message"] for p in problems]}, default=str), flush=True)
'''


def venv_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", DVE], check=True)
    return python


def dischema() -> dict:
    """Our DIDS v1.0 contract in the DVE's terms, from layouts.toml and rules.toml.

    Data contract (per row, Pydantic): the 18 items typed (DVE_TYPES), the two lengths DIDS enforces
    (DIDS069, DIDS072) as ``constr``, the mandatory items (DIDS020, DIDS050, DIDS067, DIDS070).
    Business rules (DuckDB filters over the typed columns): the code lists (DIDS003, DIDS012, DIDS014,
    DIDS021) from the sample reference data, five date orders (DIDS027, DIDS034, DIDS043, DIDS048,
    DIDS006), an imaging code present (DIDS056), the activity month (P016), and the NHS test range
    and sentinels as a warning (P020).
    """
    sys.path.insert(0, str(ROOT))
    from submissions.engine import ReferenceSnapshot
    from submissions.engine.layout import load_layouts
    from submissions.engine.rules import load_rules

    layout = load_layouts()["1.0"]
    reference = ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample")
    rules = {r.id: r for r in load_rules().rules if "1.0" in r.versions}
    fields: dict[str, object] = {}
    for it in layout.items:
        fields[it.column] = DVE_TYPES.get(it.kind, "str")
        if it.length:
            fields[it.column] = {"callable": "constr", "constraints": {
                "min_length": it.length["min"], "max_length": it.length["max"]}}
    mandatory = [r.items[0] for r in rules.values() if r.kind == "mandatory"]

    def rule(rule_id: str, expression: str, field: str, warn: bool = False) -> dict:
        return {"entity": "dids", "name": rule_id, "expression": expression, "error_code": rule_id,
                "reporting_field": field, "failure_message": f"{rule_id} ({', '.join(rules[rule_id].items)})",
                "is_informational": warn}

    filters = []
    for r in rules.values():
        if r.kind == "code_list":
            column, code_list = r.items[0], layout.item(r.items[0]).code_list
            assert code_list, f"{r.id}: {column} has no code list"
            codes = ", ".join("'" + c.replace("'", "''") + "'" for c in reference.codes(code_list))
            filters.append(rule(r.id, f"{column} IS NULL OR {column} IN ({codes})", column))
    for rule_id in ("DIDS027", "DIDS034", "DIDS043", "DIDS048", "DIDS006"):
        a, b = rules[rule_id].items
        filters.append(rule(rule_id, f"{a} IS NULL OR {b} IS NULL OR {a} <= {b}", a))
    month_end = date(MONTH.year + MONTH.month // 12, MONTH.month % 12 + 1, 1)
    filters += [
        rule("DIDS056", "nicip_code IS NOT NULL OR snomed_code IS NOT NULL", "nicip_code"),
        rule("P016", f"test_date >= DATE '{MONTH}' AND test_date < DATE '{month_end}'", "test_date"),
    ]
    test_range = rules["P020"].params
    digits = "replace(replace(nhs_number, ' ', ''), '-', '')"
    prefixes = " OR ".join(f"starts_with({digits}, '{p}')" for p in test_range["prefixes"])
    sentinels = ", ".join(f"'{v}'" for v in test_range["sentinels"])
    filters.append(rule("P020", f"nhs_number IS NULL OR NOT ({prefixes} OR {digits} IN ({sentinels}))",
                        "nhs_number", warn=True))
    return {"contract": {"datasets": {"dids": {
        "fields": fields, "mandatory_fields": mandatory,
        "reader_config": {".csv": {"reader": "DuckDBCSVReader"}}}}},
        "transformations": {"filters": filters}}


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT,
          codes: tuple[int, ...] = (0,)) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MiB) of this one child, and its stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in codes:
            raise SystemExit(f"{argv[:3]} exited {child.returncode}:\n{err.read()[-3000:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read()


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
    ours = min(timed(check, django_env(sqlite))[:3] for _ in range(args.repeat))
    print(f"{'manage.py dids_check':<28}{ours[0]:>8.2f} s, CPU {ours[1]:.2f} s, peak {ours[2]:,.0f} MiB", flush=True)
    if args.skip_dve:
        return
    python = venv_python(args.venv)
    driver = WORK / "driver.py"
    driver.write_text(DRIVER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    runs = []
    for _ in range(args.repeat):
        wall, cpu, rss, out = timed([str(python), str(driver), str(WORK), str(csv), schema.as_posix()], env, WORK)
        runs.append((wall, cpu, rss))
        result = json.loads(out.strip().splitlines()[-1])
        print(f"  DVE run: {wall:.1f} s; {json.dumps(result)}", flush=True)
        # A stage that failed or records lost would make the figure meaningless: stop rather than print it.
        if result["processing_errors"] or result["records"] != args.rows:
            raise SystemExit(f"the DVE run is not a full run: {result}")
    theirs = min(runs)
    shutil.rmtree(WORK / "run", ignore_errors=True)
    print(f"{'DVE 0.9.0 DuckDB pipeline':<28}{theirs[0]:>8.2f} s, CPU {theirs[1]:.2f} s, peak {theirs[2]:,.0f} MiB")
    print(f"dids_check is {theirs[0] / ours[0]:.1f}x faster in wall time, {theirs[1] / ours[1]:.1f}x in CPU time "
          f"(target >= {TARGET:.0f}x); load average {os.getloadavg()[0]:.1f}")

if __name__ == "__main__":
    main()
