"""``python -m tests.clocked_celery ...`` is ``celery ...`` on the test suite's clock.

The fault tests' faults live here, not in the product: with ``DIDS_FAULT_KILL_AT_ROWS=N`` in
its environment the worker kills itself (SIGKILL) once N records of a version are written,
mid-COPY; with ``DIDS_FAULT_KILL_EXTRACT_AT_ROWS=N``, once N rows of an extract are. It hears
the product's ``submissions.loading.rows_written`` signal, connected before the first task runs.
"""

import os
import signal
import sys
import time

import time_machine

from tests.clock import OFFSET_ENV

offset = float(os.environ.get(OFFSET_ENV, "0") or 0)
if offset:
    time_machine.travel(time.time() - offset, tick=True).start()

from celery.__main__ import main  # noqa: E402 - after the clock is set
from celery.signals import task_prerun  # noqa: E402

KILL_AT = {"records": "DIDS_FAULT_KILL_AT_ROWS", "extract": "DIDS_FAULT_KILL_EXTRACT_AT_ROWS"}


def _kill_when_written(sender, kind: str, done: int, **_) -> None:  # type: ignore[no-untyped-def]
    limit = int(os.environ.get(KILL_AT.get(kind, ""), "0") or 0)
    if 0 < limit <= done:
        os.kill(os.getpid(), signal.SIGKILL)


def _install_faults(**_) -> None:  # type: ignore[no-untyped-def]
    if any(os.environ.get(name) for name in KILL_AT.values()):
        from submissions.loading import rows_written  # Django is set up once a task runs

        rows_written.connect(_kill_when_written, dispatch_uid="fault-tests-kill")


task_prerun.connect(_install_faults, weak=False)

if __name__ == "__main__":
    sys.exit(main())
