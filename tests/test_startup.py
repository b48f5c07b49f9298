"""Start-up: a dids_* command loads what it uses, not the API, the admin or the pages.

No timing here (bench/startup.py measures it): each test starts a fresh interpreter and looks at
which modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import holidays
import pytest

from submissions.cycle.timetable import bank_holidays

ROOT = Path(__file__).resolve().parents[1]

# Loaded by the URLconf, the API or the admin, and needed by no command that only reads a file
# (the installed apps' packages themselves, rest_framework or import_export, load with Django).
NOT_AT_START_UP = ("rest_framework.serializers", "rest_framework.views", "rest_framework.response",
                   "drf_spectacular.views", "drf_spectacular.openapi", "import_export.admin",
                   "import_export.resources", "import_export.formats", "openpyxl",
                   "dids_portal.urls", "dids_portal.lib.api_docs", "accounts.admin", "reference.admin",
                   "submissions.admin", "submissions.api", "submissions.views", "accounts.views")


def fresh_interpreter(code: str) -> object:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dids_portal.settings_test", "PYTHONPATH": str(ROOT)}
    env.pop("CELERY_BROKER_URL", None)
    result = subprocess.run([sys.executable, "-c", "import django, json, sys\ndjango.setup()\n" + code],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# And a check writes nothing: it loads no code that writes versions (nor pyarrow.compute with it).
NOT_FOR_A_CHECK = ("submissions.services", "submissions.loading", "submissions.pgcopy", "pyarrow.compute")


@pytest.mark.parametrize("command", ["dids_check", "dids_submit"])
def test_a_command_starts_without_the_api_the_admin_or_the_pages(command: str) -> None:
    loaded = fresh_interpreter(
        "from datetime import date\n"
        "from django.core.management import load_command_class\n"
        f"command = load_command_class('submissions', {command!r})\n"
        # Django's system checks would load the URLconf: the command skips them.
        "assert command.requires_system_checks == []\n"
        # What a check works out before it reads the file: the month's deadlines.
        "from submissions.cycle.timetable import default_deadlines\n"
        "default_deadlines(date(2026, 2, 1))\n"
        "print(json.dumps(sorted(sys.modules)))\n")
    assert isinstance(loaded, list)
    absent = NOT_AT_START_UP + (NOT_FOR_A_CHECK if command == "dids_check" else ())
    assert sorted(m for m in loaded if any(m == a or m.startswith(a + ".") for a in absent)) == []
    # Of the holidays package's countries, only the United Kingdom's module.
    assert [m for m in loaded if m.startswith("holidays.countries")] == ["holidays.countries.united_kingdom"]


def test_the_admin_system_check_still_checks_every_model_admin() -> None:
    registered = fresh_interpreter(
        "from django.contrib import admin\n"
        "from django.core.checks import Tags, run_checks\n"
        "before = len(admin.site._registry)\n"
        "run_checks(tags=[Tags.admin])\n"
        "print(json.dumps([before, sorted(m._meta.label for m in admin.site._registry)]))\n")
    assert isinstance(registered, list)
    before, labels = registered
    assert before == 0
    assert {"reference.Organisation", "submissions.Submission", "accounts.User"} <= set(labels)


def test_bank_holidays_are_the_holidays_package_ones_for_england() -> None:
    for year in range(2020, 2036):
        expected = frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))
        assert bank_holidays(year) == expected, year
    assert date(2027, 12, 28) in bank_holidays(2027)  # Boxing Day on a Sunday: the Tuesday
