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


# dids_check loads only the apps whose models it reads (dids_portal/lib/lean_start.py). Celery
# still loads, with the package (dids_portal.celery) and the settings (CELERY_BEAT_SCHEDULE).
LEAN_ABSENT = ("django_celery_beat", "rest_framework", "drf_spectacular", "import_export",
               "django_filters", "axes", "dids_portal.apps", "django.contrib.sessions.models")


def lean_interpreter(argv: list[str]) -> object:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dids_portal.settings_test", "PYTHONPATH": str(ROOT)}
    env.pop("CELERY_BROKER_URL", None)
    code = ("import django, json, sys\n"
            "from django.apps import apps\n"
            "from dids_portal.lib.lean_start import lean_apps\n"
            f"lean = lean_apps({argv!r})\n"
            "django.setup()\n"
            "print(json.dumps([lean, [a.name for a in apps.get_app_configs()], sorted(sys.modules)]))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dids_check_starts_with_only_the_apps_its_models_need() -> None:
    lean, names, loaded = lean_interpreter(["manage.py", "dids_check", "file.csv", "--org", "RR8"])  # type: ignore[misc]
    assert lean is True
    assert names == ["django.contrib.auth", "django.contrib.contenttypes", "simple_history", "django_otp",
                     "django_otp.plugins.otp_totp", "accounts", "reference", "submissions"]
    assert sorted(m for m in loaded if any(m == a or m.startswith(a + ".") for a in LEAN_ABSENT)) == []


@pytest.mark.parametrize("argv", [["manage.py", "dids_submit", "file.csv"], ["manage.py", "check"],
                                  ["manage.py"], ["manage.py", "dids_check", "f.csv", "--settings=x"],
                                  ["manage.py", "dids_check", "--pythonpath", "/tmp", "f.csv"]])
def test_every_other_start_up_loads_every_app(argv: list[str]) -> None:
    lean, names, _loaded = lean_interpreter(argv)  # type: ignore[misc]
    assert lean is False
    assert {"django_celery_beat", "rest_framework", "import_export", "axes"} <= set(names)


@pytest.fixture(scope="module")
def check_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """A SQLite file with the sample reference data, a late month, a month reopened for RR8 and
    one reopened for another organisation only; and 2-record files of those months."""
    folder = tmp_path_factory.mktemp("lean")
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}", MEDIA_ROOT=str(folder / "media"),
               DJANGO_SETTINGS_MODULE="dids_portal.settings")
    for command in (["migrate", "-v0"], ["load_reference"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    script = (
        "import django\ndjango.setup()\n"
        "from datetime import date, datetime\n"
        "from zoneinfo import ZoneInfo\n"
        "from submissions.engine import ReferenceSnapshot, generate_file\n"
        "from submissions.models import PeriodReopening, ReportingPeriod\n"
        "at = lambda *a: datetime(*a, tzinfo=ZoneInfo('Europe/London'))\n"
        "for month, org in ((date(2025, 6, 1), None), (date(2025, 7, 1), 'RR8'), (date(2025, 8, 1), 'RAJ')):\n"
        "    period = ReportingPeriod.objects.create(activity_month=month, provisional_deadline=at(2025, 12, 1),\n"
        "                                            final_deadline=at(2026, 1, 30, 23, 59, 59))\n"
        "    if org:\n"
        "        PeriodReopening.objects.create(period=period, organisation_id=org, reason='late data',\n"
        "                                       granted_at=at(2026, 2, 1), expires_at=at(2026, 4, 1))\n"
        "reference = ReferenceSnapshot.from_directory('reference/data/sample')\n"
        f"folder = {str(folder)!r}\n"
        "for month in ('2025-06', '2025-07', '2025-08', '2026-02'):\n"
        "    generate_file(f'{folder}/{month}.csv', rows=2, org='RR8', month=date.fromisoformat(month + '-01'),\n"
        "                  dataset_version='1.0', reference=reference, seed=2026, error_rate=0.0)\n"
        "generate_file(f'{folder}/errors.csv', rows=2, org='RR8', month=date(2026, 2, 1), dataset_version='1.0',\n"
        "              reference=reference, seed=7, error_rate=1.0)\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)
    return env, folder


FULL_PATH = ("import sys\nfrom django.core.management import execute_from_command_line\n"
             "execute_from_command_line(['manage.py', *sys.argv[1:]])\n")


# (arguments, the exit code, a text the output shows): ordinary (the default deadlines, from the
# bank holidays), a file of errors, late, reopened for RR8, reopened for another organisation
# only, and misuse (an unknown organisation, month or dataset version, a flag), a missing file.
CASES = [
    (["2026-02.csv", "--org", "RR8", "--month", "2026-02", "--as-of", "2026-03-01T12:00"], 0, "ACCEPTED"),
    (["errors.csv", "--org", "RR8", "--month", "2026-02", "--format", "json"], 1, '"file_rejected": true'),
    (["2025-06.csv", "--org", "RR8", "--month", "2025-06", "--as-of", "2026-03-01T12:00"], 1,
     "June 2025 closed for submissions at 23:59:59 on 30 January 2026"),
    (["2025-06.csv", "--org", "RR8", "--month", "2025-06", "--as-of", "2026-01-30T12:00", "--format", "json"],
     1, "DIDS055"),
    (["2025-07.csv", "--org", "rr8", "--month", "2025-07", "--as-of", "2026-03-01T12:00", "--format", "json"],
     0, '"DIDS049": 2'),
    (["2025-08.csv", "--org", "RR8", "--month", "2025-08", "--as-of", "2026-03-01T12:00"], 1,
     "Ask the national DIDS team to reopen August 2025"),
    (["2026-02.csv", "--org", "ZZZ99", "--month", "2026-02"], 64, "Unknown organisation 'ZZZ99'"),
    (["2026-02.csv", "--org", "RR8", "--month", "2026-13"], 64, "--month must be YYYY-MM"),
    (["2026-02.csv", "--org", "RR8", "--month", "2026-02", "--dataset-version", "3.0"], 64, "invalid choice"),
    (["missing.csv", "--org", "RR8", "--month", "2026-02"], 2, "no such file"),
    (["2026-02.csv", "--org", "RR8", "--month", "2026-02", "--no-such-flag"], 64, "unrecognized arguments"),
]


@pytest.mark.parametrize(("args", "code", "shown"), CASES)
def test_the_lean_start_up_checks_exactly_as_the_full_one(check_database: tuple[dict[str, str], Path],
                                                          args: list[str], code: int, shown: str) -> None:
    env, folder = check_database
    argv = ["dids_check", str(folder / args[0]), *args[1:]]
    lean = subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    full = subprocess.run([sys.executable, "-c", FULL_PATH, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    assert (lean.returncode, lean.stdout, lean.stderr) == (full.returncode, full.stdout, full.stderr)
    assert lean.returncode == code, lean.stderr
    assert shown in lean.stdout + lean.stderr
    assert "Traceback" not in lean.stderr
