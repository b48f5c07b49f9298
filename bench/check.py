"""Benchmark: check-only validation of every rule on v1.0 files (no Django).

    .venv/bin/python bench/check.py [--rows 150000 1000000] [--repeat 3]

Generates clean v1.0 files (and one with 1% planted errors) into bench/out/, then measures,
each in a fresh process so peak RSS is per run:
  - the baseline: Python csv.reader iterating over the same file (parsing only);
  - validate() on one core: POLARS_MAX_THREADS=1, pyarrow use_threads=False, cpu count 1;
  - validate() on two cores: POLARS_MAX_THREADS=2, pyarrow use_threads=True.
It prints rows/s (wall and CPU time), peak RSS and the ratio to the baseline. The best of
--repeat runs is kept, since other work on the machine only ever slows a run down.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
MONTH = date(2026, 2, 1)


def measure(path: str, mode: str) -> dict:
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
    ctx = CheckContext(submitting_org="RR8", month=MONTH,
                       as_of=datetime(2026, 3, 1, 12, tzinfo=ZoneInfo("Europe/London")))
    start_rss = rss()
    wall, cpu = time.perf_counter(), time.process_time()
    report = validate(path, context=ctx, reference=reference, max_findings=1000, use_threads=threads > 1)
    return {"rows": report.rows, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "rss_start_mb": start_rss, "rss_peak_mb": rss(), "rejected": report.rejected_rows,
            "findings": sum(report.counts_by_rule.values()), "file_rejected": report.file_rejected}


def child(path: Path, mode: str) -> dict:
    env = dict(os.environ, POLARS_MAX_THREADS="1" if mode in ("one_core", "baseline") else "2",
               PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, "--measure", str(path), mode], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def generate(rows: int, error_rate: float) -> Path:
    from submissions.engine import ReferenceSnapshot, generate_file

    OUT.mkdir(parents=True, exist_ok=True)
    tag = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    path = OUT / f"dids_v1_{tag}{'_errors' if error_rate else ''}.csv"
    if not path.exists():
        reference = ReferenceSnapshot.from_directory(ROOT / "reference" / "data" / "sample")
        t = time.perf_counter()
        generate_file(path, rows=rows, org="RR8", month=MONTH, dataset_version="1.0", reference=reference,
                      seed=2026, error_rate=error_rate)
        print(f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB "
              f"in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[150_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "MODE"))
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    sys.path.insert(0, str(ROOT))
    files = [(generate(n, 0.0), "clean") for n in args.rows]
    files.append((generate(max(args.rows), 0.01), "1% errors"))
    print(f"\n{'file':<28}{'mode':<10}{'rows/s wall':>13}{'rows/s cpu':>12}{'wall s':>8}"
          f"{'peak RSS MB':>13}{'x baseline':>12}")
    for path, label in files:
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for mode in ("baseline", "one_core", "two_core"):
                r = child(path, mode)
                if mode not in best or r["wall"] < best[mode]["wall"]:
                    best[mode] = r
        base = best["baseline"]
        for mode in ("baseline", "one_core", "two_core"):
            r = best[mode]
            ratio = base["wall"] / r["wall"]
            print(f"{path.name + ' (' + label + ')':<28}{mode:<10}{r['rows'] / r['wall']:>13,.0f}"
                  f"{r['rows'] / r['cpu']:>12,.0f}{r['wall']:>8.2f}{r['rss_peak_mb']:>13,.0f}{ratio:>12.2f}")
        one = best["one_core"]
        print(f"  -> one core: {one['rows'] / one['wall']:,.0f} rows/s wall, {one['rows'] / one['cpu']:,.0f} rows/s "
              f"CPU; peak RSS {one['rss_peak_mb']:.0f} MB (after imports {one['rss_start_mb']:.0f} MB); "
              f"{one['findings']:,} findings, {one['rejected']:,} rejected", flush=True)


if __name__ == "__main__":
    main()
