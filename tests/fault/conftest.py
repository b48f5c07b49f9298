"""Real Celery worker processes against Redis and PostgreSQL, started and killed by the tests
as a process supervisor would (see tests/submissions/test_worker.py for the basic set-up)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from dids_portal.celery import app as celery_app
from reference.loaders import SAMPLE_DIR
from submissions.engine import ReferenceSnapshot, generate_file
from tests.submissions.conftest import MONTH
from tests.submissions.test_worker import purge_queues

ROOT = Path(settings.BASE_DIR)
ROWS = 150_000


def worker_env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIDS_FAULT_")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "dids_portal.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": "worker-test-secret",
        # A queued version is re-queued at worker start only after this long.
        "DIDS_REQUEUE_QUEUED_AFTER_SECONDS": "5",
        **extra,
    })
    return env


class Workers:
    """Starts worker processes and kills them (SIGKILL) or stops them at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str = "w1", **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.clocked_celery", "-A", "dids_portal", "worker", "--pool", "solo",
             "-Q", ",".join(settings.DIDS_TASK_QUEUES), "--hostname", f"{name}-{len(self.processes)}@%h", "--loglevel", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=worker_env(**env), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers() -> Iterator[Workers]:
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    purge_queues()
    supervisor = Workers()
    try:
        yield supervisor
    finally:
        supervisor.stop_all()
        purge_queues()
        celery_app.conf.task_always_eager = True


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean file big enough that a kill lands mid-load (every row is accepted)."""
    path = tmp_path_factory.mktemp("fault") / "big.csv"
    generate_file(path, rows=ROWS, org="RR8", month=MONTH, dataset_version="2.0",
                  reference=ReferenceSnapshot.from_directory(SAMPLE_DIR), error_rate=0.0,
                  seed=5)
    return path


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
