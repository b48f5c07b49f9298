"""Benchmark: check-only validation of every rule on v1.0 and v2.0 files.

    .venv/bin/python bench/check.py [--rows 150000 1000000] [--versions 1.0 2.0] [--repeat 3]
        [--compare DIR]

Generates clean v1.0 and v2.0 files (and a v1.0 one with 1% planted errors) into bench/out/,
then measures, each in a fresh process so peak RSS is per run:
  - the baseline: Python csv.reader iterating over the same file (parsing only);
  - validate() on one core: POLARS_MAX_THREADS=1, pyarrow use_threads=False, cpu count 1;
  - validate() on two cores: POLARS_MAX_THREADS=2, pyarrow use_threads=True;
  - the whole process: ``manage.py dids_check`` of the file (SQLite, the sample reference data;
    start-up, the reference snapshot and the report included), rows/s over its wall time.
It prints rows/s (wall and CPU time), peak RSS and the ratio to the baseline. The best of
--repeat runs is kept, since other work on the machine only ever slows a run down.
--compare DIR also runs the engine and the command of another checkout (the code before a
change, e.g. `git archive main | tar -x -C DIR`) over the same files, alternating with this
one in every round, and prints this checkout's CPU and wall time as a ratio of that one's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SQLITE = f"sqlite:///{OUT / 'startup.sqlite3'}"
MONTHS = {"1.0": date(2026, 2, 1), "2.0": date(2026, 5, 1)}


def measure(path: str, mode: str, version: str = "1.0") -> dict:
    """Run in a child process: time one pass over the file and report peak RSS."""
    def rss() -> float:
        """Peak RSS of this process image in MB (VmHWM; ru_maxrss would carry the parent's over exec)."""
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")
    if mode == "baseline":
        import csv

        start_rss = rss()
        wall, cpu = time.perf_counter(), time.process_time()
        rows = -1
        with open(path, newline="", encoding="utf-8") as fh:
            for _ in csv.reader(fh):
                rows += 1
        return {"rows": rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                "rss_start_mb": start_rss, "rss_peak_mb": rss()}
    import pyarrow as pa

    threads = 1 if mode == "one_core" else 2
    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    from zoneinfo import ZoneInfo

    from submissions.engine import CheckContext, ReferenceSnapshot, validate

    reference = ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample")
    month = MONTHS[version]
    ctx = CheckContext(submitting_org="RR8", month=month,
                       as_of=datetime(month.year, month.month + 1, 1, 12, tzinfo=ZoneInfo("Europe/London")))
    start_rss = rss()
    wall, cpu = time.perf_counter(), time.process_time()
    report = validate(path, context=ctx, reference=reference, max_findings=1000, use_threads=threads > 1)
    return {"rows": report.rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "rss_start_mb": start_rss, "rss_peak_mb": rss(), "rejected": report.rejected_rows,
            "findings": sum(report.counts_by_rule.values()), "file_rejected": report.file_rejected}


def child(path: Path, mode: str, version: str, root: Path = ROOT) -> dict:
    if mode == "dids_check":
        return whole_process(path, version, root)
    env = dict(os.environ, POLARS_MAX_THREADS="1" if mode in ("one_core", "baseline") else "2",
               PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), mode, version], env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def whole_process(path: Path, version: str, root: Path = ROOT) -> dict:
    """``manage.py dids_check`` of the file as a process of its own (the SQLite database of
    bench/startup.py, set up by main), run from ``root``'s checkout."""
    sys.path.insert(0, str(ROOT / "bench"))
    from startup import django_env

    month = MONTHS[version]
    argv = [sys.executable, "manage.py", "dids_check", str(path), "--org", "RR8", "--month", f"{month:%Y-%m}",
            "--as-of", f"{month.year}-{month.month + 1:02d}-01T12:00", "--format", "json"]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, env=django_env(SQLITE), cwd=root, stdout=subprocess.PIPE, stderr=err)
        assert child.stdout is not None
        stdout = child.stdout.read()
        # wait4: this child's own CPU time and peak RSS (RUSAGE_CHILDREN's is the largest child's)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if child.returncode not in (0, 1):
            err.seek(0)
            raise SystemExit(f"dids_check exited {child.returncode}: {err.read()[-2000:].decode()}")
    report = json.loads(stdout)
    return {"rows": report.get("rows", 0), "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_start_mb": float("nan"), "rss_peak_mb": usage.ru_maxrss / 1024}


def generate(rows: int, error_rate: float, version: str = "1.0") -> Path:
    from submissions.engine import ReferenceSnapshot, generate_file

    OUT.mkdir(parents=True, exist_ok=True)
    tag = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    path = OUT / f"dids_v{version[0]}_{tag}{'_errors' if error_rate else ''}.csv"
    if not path.exists():
        reference = ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample")
        t = time.perf_counter()
        generate_file(path, rows=rows, org="RR8", month=MONTHS[version], dataset_version=version,
                      reference=reference, seed=2026, error_rate=error_rate)
        print(f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB "
              f"in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[150_000, 1_000_000])
    parser.add_argument("--versions", nargs="+", default=["1.0", "2.0"], choices=list(MONTHS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=3, metavar=("PATH", "MODE", "VERSION"))
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another checkout (the code before) to run beside this one")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from startup import django_env, run

    for command in (["migrate", "-v0"], ["load_reference"]):
        run([sys.executable, "manage.py", *command], django_env(SQLITE), ROOT)
    files = [(generate(n, 0.0, v), f"clean v{v}", v) for v in args.versions for n in args.rows]
    files.append((generate(max(args.rows), 0.01), "1% errors", "1.0"))
    roots = {"": ROOT, **({"before ": args.compare.resolve()} if args.compare else {})}
    print(f"load average {os.getloadavg()[0]:.1f}" + (f"; before = {args.compare}" if args.compare else ""))
    print(f"\n{'file':<36}{'mode':<19}{'rows/s wall':>13}{'rows/s cpu':>12}{'wall s':>8}{'cpu s':>7}"
          f"{'peak RSS MB':>13}{'x baseline':>12}")
    modes = ("baseline", "one_core", "two_core", "dids_check")
    for path, label, version in files:
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for mode in modes:
                for tag, root in roots.items():
                    if mode == "baseline" and tag:
                        continue  # csv.reader: the same in every checkout
                    r = child(path, mode, version, root)
                    if tag + mode not in best or r["wall"] < best[tag + mode]["wall"]:
                        best[tag + mode] = r
        base = best["baseline"]
        for key, r in best.items():
            ratio = base["wall"] / r["wall"]
            print(f"{path.name + ' (' + label + ')':<36}{key:<19}{r['rows'] / r['wall']:>13,.0f}"
                  f"{r['rows'] / r['cpu']:>12,.0f}{r['wall']:>8.2f}{r['cpu']:>7.2f}{r['rss_peak_mb']:>13,.0f}"
                  f"{ratio:>12.2f}")
        one = best["one_core"]
        print(f"  -> one core: {one['rows'] / one['wall']:,.0f} rows/s wall, {one['rows'] / one['cpu']:,.0f} rows/s "
              f"CPU; peak RSS {one['rss_peak_mb']:.0f} MB (after imports {one['rss_start_mb']:.0f} MB); "
              f"{one['findings']:,} findings, {one['rejected']:,} rejected", flush=True)
        for mode in modes[1:] if args.compare else ():
            new, old = best[mode], best["before " + mode]
            print(f"  -> {mode} against before: CPU {new['cpu'] / old['cpu']:.2f}x, wall {new['wall'] / old['wall']:.2f}x"
                  + (f"; findings {new['findings']:,} / {old['findings']:,}" if "findings" in new else ""))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
