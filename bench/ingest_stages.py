"""Where one `manage.py dids_submit` spends its time: wall and CPU seconds per stage.

Runs the command in this process (so start-up here is Django's set-up and the command's
imports, as in `manage.py`), with timers wrapped around the service's stages: receiving the
file (spool, SHA-256, store), the month's partition, the reference snapshot, the load (the
engine's thread, its callbacks, the encoder, the COPY writes in the loading thread and the
server backend's CPU from /proc), the assessment and statistics, making the version live and
the audit. The engine's own CPU is the process's CPU during the load less the encoder's and
the loading thread's (polars and pyarrow work in pools of their own, which no thread timer
sees). The wrappers change nothing the stages do.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_NAME (a database set up by
bench/ingest.py, which also writes the file) .venv/bin/python bench/ingest_stages.py
[--file bench/out/ingest-1000000-0.01-v2.0.csv] [--month 2026-10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

START_WALL, START_CPU = time.perf_counter(), time.process_time()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVICE_STAGES = (
    "submission_create",
    "record_partition_ensure_for",
    "reference_snapshot_load",
    "month_window",
    "submission_assess",
    "_make_live_if_newest",
    "_audit_processed",
)


class Stages:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []
        self.load: dict[str, float] = {}

    def wrap(self, module: Any, name: str) -> None:
        inner = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.rows.append((name, time.perf_counter() - wall, time.process_time() - cpu))

        setattr(module, name, timed)

    def add(self, key: str, seconds: float) -> None:
        self.load[key] = self.load.get(key, 0.0) + seconds


def thread_timed(stages: Stages, key: str, inner: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any) -> Any:
        cpu = time.thread_time()
        try:
            return inner(*args)
        finally:
            stages.add(key, time.thread_time() - cpu)

    return timed


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def instrument(stages: Stages) -> None:
    from django.db import connection

    import submissions.loading as loading
    import submissions.management.commands.dids_submit as command
    import submissions.services as services

    for name in SERVICE_STAGES:
        stages.wrap(services, name)
    stages.wrap(command, "submission_create")  # the command's own name for it
    validate = services.validate

    def engine(*args: Any, **kwargs: Any) -> Any:
        kwargs["on_clean_batch"] = thread_timed(
            stages, "callback on_clean_batch (thread CPU)", kwargs["on_clean_batch"]
        )
        kwargs["on_findings"] = thread_timed(
            stages, "callback on_findings (thread CPU)", kwargs["on_findings"]
        )
        wall = time.perf_counter()
        try:
            return validate(*args, **kwargs)
        finally:
            stages.add("engine thread, wall", time.perf_counter() - wall)

    services.validate = engine
    loading.encode_rows = thread_timed(stages, "encoder (thread CPU)", loading.encode_rows)
    loading.StatisticsTally.add = thread_timed(  # type: ignore[method-assign]
        stages, "statistics tally (thread CPU)", loading.StatisticsTally.add
    )
    load_postgres = loading.VersionWriter._load_postgres

    def load(self: Any, run_engine: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        server, wall, cpu, thread = (
            backend_cpu(pid),
            time.perf_counter(),
            time.process_time(),
            time.thread_time(),
        )
        try:
            return load_postgres(self, run_engine)
        finally:
            stages.add("load, wall", time.perf_counter() - wall)
            stages.add("load, process CPU", time.process_time() - cpu)
            stages.add("loading thread: COPY writes (thread CPU)", time.thread_time() - thread)
            stages.add("server backend during the load (CPU)", backend_cpu(pid) - server)

    loading.VersionWriter._load_postgres = load  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--file", default=str(ROOT / "bench" / "out" / "ingest-1000000-0.01-v2.0.csv")
    )
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--as-of", default="2026-11-01T12:00:00+00:00")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")
    os.environ.setdefault("DEBUG", "1")  # as manage.py runs
    os.environ.setdefault("MEDIA_ROOT", str(ROOT / "bench" / "out" / "media"))
    import django

    django.setup()
    from django.core.management import call_command

    import submissions.management.commands.dids_submit  # noqa: F401 - the command's imports

    started = (time.perf_counter() - START_WALL, time.process_time() - START_CPU)
    stages = Stages()
    instrument(stages)
    load = os.getloadavg()
    # contextlib.suppress: exit code 1 (not accepted) comes as SystemExit.
    with open(os.devnull, "w") as quiet, contextlib.suppress(SystemExit):
        call_command(
            "dids_submit",
            args.file,
            "--org",
            "RR8",
            "--month",
            args.month,
            "--as-of",
            args.as_of,
            "--format",
            "json",
            stdout=quiet,
        )
    total = (time.perf_counter() - START_WALL, time.process_time() - START_CPU)
    print(f"load average {load[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    print(
        f"{'start-up (Django, the command imports)':44s} wall {started[0]:6.2f} s  CPU {started[1]:6.2f} s"
    )
    for name, wall, cpu in stages.rows:
        print(f"{name:44s} wall {wall:6.2f} s  CPU {cpu:6.2f} s")
    for key, value in stages.load.items():
        print(f"{key:44s} {value:6.2f} s")
    others = stages.load.get("encoder (thread CPU)", 0.0) + stages.load.get(
        "loading thread: COPY writes (thread CPU)", 0.0
    )
    print(
        f"{'engine and its pools (load CPU less the above)':44s} "
        f"{stages.load.get('load, process CPU', 0.0) - others:6.2f} s"
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{'whole run':44s} wall {total[0]:6.2f} s  CPU {total[1]:6.2f} s, peak {usage.ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
