"""Benchmark: start-up, the wall time of a command that has almost nothing to do.

    .venv/bin/python bench/startup.py [--repeat 11] [--postgres URL] [--root DIR]

Times, each as a fresh process run --repeat times (the median is printed, with the median CPU
time, user + system, which other work on the machine disturbs less):
  - ``python -c pass``: the interpreter alone, the baseline;
  - ``manage.py check``: Django's system checks, which load every app, the URLconf and the admin;
  - ``manage.py dids_check`` of a 2-record file on SQLite and, with --postgres (default
    $DIDS_BENCH_POSTGRES), on PostgreSQL: its quick path (no ``django.setup()``, the reference
    snapshot's cache file written by a check before the timed runs), and beside it the path it
    hands over to when it cannot be sure (Django set up with the check's apps, as manage.py
    did before the quick path);
  - the offline ``dids-check`` of the same file against an exported reference snapshot.
The target is the issue's: ``dids_check`` of a 2-record file in under 0.6 s of wall time.

Set-up (not timed): migrates the databases and loads the sample reference data into them
(idempotent), writes the file and the snapshot to bench/out/. --root runs another checkout's
manage.py with this one's interpreter (e.g. an exported copy of the branch before a change) to
compare the two in one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
TARGET = 0.6
# manage.py without its quick path: the lean start-up, then Django's command (the fallback).
SET_UP_PATH = ("import os, sys\nsys.path.insert(0, os.getcwd())\n"
               "from dids_portal.lib.lean_start import lean_apps\n"
               "argv = ['manage.py', *sys.argv[1:]]\nlean_apps(argv)\n"
               "from django.core.management import execute_from_command_line\nexecute_from_command_line(argv)\n")
CHECK_ARGS = ["--org", "RR8", "--month", "2026-02", "--as-of", "2026-03-01T12:00", "--format", "json"]


def run(argv: list[str], env: dict[str, str], cwd: Path, codes: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in codes:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def django_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    return {**env, "DEBUG": "1", "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "dids_portal.settings"}


def set_up(database_urls: list[str], root: Path) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    for url in database_urls:
        for command in (["migrate", "-v0"], ["load_reference"]):
            run([sys.executable, "manage.py", *command], django_env(url), root)
    sys.path.insert(0, str(ROOT))
    from submissions.engine import ReferenceSnapshot, generate_file

    csv = OUT / "startup_2_records.csv"
    generate_file(csv, rows=2, org="RR8", month=date(2026, 2, 1), dataset_version="1.0",
                  reference=ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample"),
                  seed=2026, error_rate=0.0)
    snapshot = OUT / "startup_reference.json.gz"
    run([sys.executable, "manage.py", "export_reference_snapshot", "--output", str(snapshot)],
        django_env(database_urls[0]), root)
    return csv, snapshot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--postgres", default=os.environ.get("DIDS_BENCH_POSTGRES", ""),
                        help="a PostgreSQL DATABASE_URL for the dids_check run on PostgreSQL")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose manage.py runs")
    args = parser.parse_args()
    root = args.root.resolve()
    sqlite = f"sqlite:///{OUT / 'startup.sqlite3'}"
    csv, snapshot = set_up([sqlite, *([args.postgres] if args.postgres else [])], root)
    dids_check = [sys.executable, "manage.py", "dids_check", str(csv), *CHECK_ARGS]
    set_up_check = [sys.executable, "-c", SET_UP_PATH, "dids_check", str(csv), *CHECK_ARGS]
    for url in [sqlite, *([args.postgres] if args.postgres else [])]:
        run(dids_check, django_env(url), root)  # writes the reference snapshot's cache file
    offline = str(Path(sys.executable).with_name("dids-check"))
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("python -c pass (baseline)", [sys.executable, "-c", "pass"], dict(os.environ)),
        ("manage.py check", [sys.executable, "manage.py", "check"], django_env(sqlite)),
        ("manage.py dids_check, SQLite", dids_check, django_env(sqlite)),
        ("  Django set up (fallback), SQLite", set_up_check, django_env(sqlite)),
    ]
    if args.postgres:
        cases.append(("manage.py dids_check, PostgreSQL", dids_check, django_env(args.postgres)))
        cases.append(("  Django set up (fallback), PostgreSQL", set_up_check, django_env(args.postgres)))
    cases.append(("dids-check offline", [offline, str(csv), "--reference", str(snapshot), *CHECK_ARGS],
                  dict(os.environ)))
    print(f"{args.repeat} runs each, medians; root {root}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<36}{'wall s':>8}{'CPU s':>8}{'x target':>10}{'x baseline':>12}")
    baseline = 0.0
    for label, argv, env in cases:
        runs = [run(argv, env, root) for _ in range(args.repeat)]
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        baseline = baseline or wall
        print(f"{label:<36}{wall:>8.3f}{cpu:>8.3f}{wall / TARGET:>10.2f}{wall / baseline:>12.1f}", flush=True)
    print(f"target: manage.py dids_check of a 2-record file under {TARGET} s of wall time (x target < 1)")


if __name__ == "__main__":
    main()
