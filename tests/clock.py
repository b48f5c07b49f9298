"""The suite's clock.

The tests submit files for fixed activity months (June 2026 and around it), and the portal
refuses uploads once a month's final deadline has passed. So the whole suite runs as if it were
SUITE_NOW, with the clock ticking from there; worker processes that tests start run on the same
clock (``python -m tests.clocked_celery``), shifted by the offset in DIDS_TEST_CLOCK_OFFSET.
"""

import os
from datetime import datetime
from zoneinfo import ZoneInfo

# DIDS_TEST_SUITE_NOW (ISO timestamp) runs the suite at another instant, to check that it
# does not depend on the real date.
SUITE_NOW = (datetime.fromisoformat(os.environ["DIDS_TEST_SUITE_NOW"])
             if os.environ.get("DIDS_TEST_SUITE_NOW")
             else datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Europe/London")))
OFFSET_ENV = "DIDS_TEST_CLOCK_OFFSET"
