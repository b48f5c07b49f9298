"""``python -m tests.clocked_celery ...`` is ``celery ...`` on the test suite's clock."""

import os
import sys
import time

import time_machine

from tests.clock import OFFSET_ENV

offset = float(os.environ.get(OFFSET_ENV, "0") or 0)
if offset:
    time_machine.travel(time.time() - offset, tick=True).start()

from celery.__main__ import main  # noqa: E402 - after the clock is set

sys.exit(main())
