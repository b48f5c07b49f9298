"""Celery workers lower their own CPU priority as they start (DIDS_WORKER_NICE): in a
subprocess each time, since a process cannot take a niceness back."""

import os
import subprocess
import sys

from django.conf import settings

# Django set up with the given DIDS_WORKER_NICE, then the worker's start signal sent as a
# worker sends it; prints the niceness before and after.
START_SIGNAL = (
    "import os, django; django.setup(); from celery.signals import worker_init; "
    "import dids_portal.celery; before = os.getpriority(os.PRIO_PROCESS, 0); "
    "worker_init.send(sender=None); print(before, os.getpriority(os.PRIO_PROCESS, 0))"
)


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "dids_portal.settings", **env}
    return subprocess.run([sys.executable, "-c", code], env=environ, cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=60)


def test_the_worker_start_signal_raises_the_niceness_to_the_setting():
    result = run(START_SIGNAL, DIDS_WORKER_NICE="7")
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    assert after == max(before, 7)


def test_a_worker_already_started_nicer_stays_as_nice():
    result = run(f"import os; os.nice(9 - os.getpriority(os.PRIO_PROCESS, 0)); {START_SIGNAL}",
                 DIDS_WORKER_NICE="3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["9", "9"]


def test_nice_zero_leaves_the_worker_as_it_was_started():
    result = run(START_SIGNAL, DIDS_WORKER_NICE="0")
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.split()
    assert before == after


def test_the_setting_is_refused_beyond_the_kernels_range():
    for value in ("20", "-1"):
        result = run("import django; django.setup()", DIDS_WORKER_NICE=value)
        assert result.returncode != 0
        assert "DIDS_WORKER_NICE" in result.stderr
