"""A real Celery worker process against Redis and PostgreSQL processes an upload."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from dids_portal.celery import app as celery_app
from submissions.choices import SubmissionStatus
from submissions.models import Submission
from submissions.services import submission_create
from tests.submissions.conftest import AS_OF, MONTH, upload_of

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)


QUEUES = settings.DIDS_TASK_QUEUES


def worker_env(**extra: str) -> dict[str, str]:
    """The worker sees the test database, the test media folder and the test broker."""
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "dids_portal.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": "worker-test-secret",
        **extra,
    })
    return env


def purge_queues() -> None:
    with celery_app.connection_for_write() as conn:
        for queue in QUEUES:
            conn.default_channel.queue_purge(queue)


def start_worker(queues: tuple[str, ...] = QUEUES, **env: str) -> subprocess.Popen[bytes]:
    """A real worker process serving these queues (``-Q``), as production starts one."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.clocked_celery", "-A", "dids_portal", "worker", "--pool", "solo",
         "-Q", ",".join(queues), "--hostname", f"{'-'.join(queues)}-{os.getpid()}@%h",
         "--loglevel", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=worker_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def real_broker():
    """Tasks go to the test broker (not run in-process) while the test runs; queues purged."""
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = settings.CELERY_BROKER_URL
    purge_queues()
    try:
        yield
    finally:
        purge_queues()
        celery_app.conf.task_always_eager = True


@pytest.fixture
def worker(real_broker):
    process = start_worker()
    try:
        yield process
    finally:
        stop_worker(process)


def wait_for(predicate, timeout=180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_processes_an_upload_queued_on_commit(worker, submitter, make_file):
    submission, _ = submission_create(
        actor=submitter, organisation_code="RR8", activity_month=MONTH,
        upload=upload_of(make_file(rows=2000, seed=11)), original_name="june.csv", as_of=AS_OF)
    finished = wait_for(lambda: Submission.objects.get(pk=submission.pk).is_finished)
    if not finished:
        worker.terminate()
        print(worker.stdout.read().decode(errors="replace"))
    assert finished
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.ACCEPTED
    assert submission.is_live
    assert submission.records.count() == 2000
    assert submission.job.attempts == 1
