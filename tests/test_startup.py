"""Start-up: a dids_* command loads what it uses, not the API, the admin or the pages.

No timing here (bench/startup.py measures it): each test starts a fresh interpreter and looks at
which modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import holidays
import pytest

from submissions.cycle.timetable import bank_holidays, default_deadlines

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


# dids_check loads only the apps whose models it reads (dids_portal/lib/lean_start.py), and no
# Celery: the settings import none, and the project's app config (which makes the app) is not one.
LEAN_ABSENT = ("celery", "kombu", "django_celery_beat", "rest_framework", "drf_spectacular", "import_export",
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


def _postgres_database(name: str) -> str | None:
    """A PostgreSQL database of the suite's server made afresh for these tests (its URL), or None
    when the suite runs on SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    base, _, _name = url.rpartition("/")
    # The server's maintenance database: DATABASE_URL's own need not exist (the suite makes
    # and uses only its test databases).
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def _postgres_drop(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def check_database(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    """A database (SQLite, and PostgreSQL as the suite runs) with the sample reference data, a late
    month, a month reopened for RR8 and one reopened for another organisation only; and 2-record
    files of those months."""
    folder = tmp_path_factory.mktemp("lean")
    url = f"sqlite:///{folder / 'db.sqlite3'}"
    if request.param == "postgres":
        made = _postgres_database(f"dids_startup_{os.getpid()}")
        if made is None:
            pytest.skip("the suite runs on SQLite")
        url = made
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DEBUG="1", DATABASE_URL=url, MEDIA_ROOT=str(folder / "media"),
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
    yield env, folder
    if request.param == "postgres":
        _postgres_drop(url)


# The three ways manage.py dids_check can run: the quick path where it can be sure (manage.py
# itself), the lean start-up (django.setup() with the check's apps only), and every app.
FULL_PATH = ("import sys\nfrom django.core.management import execute_from_command_line\n"
             "execute_from_command_line(['manage.py', *sys.argv[1:]])\n")
LEAN_PATH = ("import sys\nfrom dids_portal.lib.lean_start import lean_apps\n"
             "argv = ['manage.py', *sys.argv[1:]]\nlean_apps(argv)\n"
             "from django.core.management import execute_from_command_line\nexecute_from_command_line(argv)\n")
# The quick path alone: its exit code (None: it would hand over to Django) and whether Django was
# set up, on the last line.
QUICK_ONLY = ("import json, sys\nfrom django.apps import apps\nfrom submissions.quick_check import quick_check\n"
              "code = quick_check(['manage.py', *sys.argv[1:]])\nsys.stdout.flush()\n"
              "print(json.dumps([code, apps.ready]))\n")
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


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)


def quick_only(env: dict[str, str], argv: list[str]) -> tuple[int | None, str]:
    """What the quick path alone does: its exit code (None: the full path must run) and output."""
    done = run(env, "-c", QUICK_ONLY, *argv)
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.splitlines(keepends=True)
    code, django_ready = json.loads(last)
    assert django_ready is False  # it never starts Django, even to hand over
    return code, "".join(printed)


# Cases the quick path runs itself (the rest, every misuse and the missing file, it hands over).
QUICK_CASES = {0, 1, 2, 3, 4, 5}


@pytest.mark.parametrize(("case", "args", "code", "shown"), [(i, *c) for i, c in enumerate(CASES)])
def test_the_quick_path_the_lean_and_the_full_start_up_check_alike(
        check_database: tuple[dict[str, str], Path], case: int, args: list[str], code: int, shown: str) -> None:
    env, folder = check_database
    argv = ["dids_check", str(folder / args[0]), *args[1:]]
    run(env, "manage.py", *argv)  # the first check of a database writes the snapshot's cache file
    quick_code, quick_out = quick_only(env, argv)
    command, lean, full = (run(env, "manage.py", *argv), run(env, "-c", LEAN_PATH, *argv),
                           run(env, "-c", FULL_PATH, *argv))
    assert (command.returncode, command.stdout, command.stderr) == (full.returncode, full.stdout, full.stderr)
    assert (lean.returncode, lean.stdout, lean.stderr) == (full.returncode, full.stdout, full.stderr)
    if case in QUICK_CASES:
        assert (quick_code, quick_out) == (full.returncode, full.stdout)
        assert full.stderr == ""
    else:
        assert (quick_code, quick_out) == (None, "")
    assert full.returncode == code, full.stderr
    assert shown in full.stdout + full.stderr
    assert "Traceback" not in full.stderr


def test_without_its_cache_file_the_quick_path_hands_over_and_the_check_writes_it(
        check_database: tuple[dict[str, str], Path]) -> None:
    env, folder = check_database
    argv = ["dids_check", str(folder / "2026-02.csv"), *CASES[0][0][1:]]
    cache = folder / "media" / "cache"
    for cached in [*cache.glob("reference-snapshot-*.pickle"), *cache.glob("default-deadlines-*.json")]:
        cached.unlink()
    assert quick_only(env, argv) == (None, "")
    command, full = run(env, "manage.py", *argv), run(env, "-c", FULL_PATH, *argv)
    assert (command.returncode, command.stdout, command.stderr) == (full.returncode, full.stdout, full.stderr)
    assert len(list(cache.glob("reference-snapshot-*.pickle"))) == 1
    # The month has no timetable row: the quick path works out its default deadline (holidays
    # package and all) and keeps it; the next check reads it back.
    assert quick_only(env, argv) == (full.returncode, full.stdout)
    (deadlines,) = cache.glob("default-deadlines-*.json")
    assert json.loads(deadlines.read_text()) == {"2026-02-01": default_deadlines(date(2026, 2, 1)).final.isoformat()}
    assert quick_only(env, argv) == (full.returncode, full.stdout)


def test_after_a_reference_change_the_quick_path_never_reads_the_stale_snapshot(
        check_database: tuple[dict[str, str], Path]) -> None:
    """A new organisation: the cache file of the old data is still there, but its key is not the
    data's; the check of the new organisation is the full path's, then quick again."""
    env, folder = check_database
    argv = ["dids_check", str(folder / "2026-02.csv"), "--org", "RZZ1", "--month", "2026-02",
            "--as-of", "2026-03-01T12:00", "--format", "json"]
    run(env, "manage.py", "dids_check", str(folder / "2026-02.csv"), *CASES[0][0][1:])  # the cache of now
    before = run(env, "-c", FULL_PATH, *argv)
    assert before.returncode == 64 and "Unknown organisation 'RZZ1'" in before.stderr
    assert quick_only(env, argv) == (None, "")
    (stale,) = (folder / "media" / "cache").glob("reference-snapshot-*.pickle")
    add = ("import django\ndjango.setup()\nfrom reference.models import Organisation\n"
           "organisation = Organisation(code='RZZ1', name='A new provider', type='nhs_trust')\n"
           "organisation._change_reason = 'test'\norganisation.save()\n")
    assert run(env, "-c", add).returncode == 0
    assert stale.exists()
    assert quick_only(env, argv) == (None, "")  # the key changed: the old file is not read
    command, full = run(env, "manage.py", *argv), run(env, "-c", FULL_PATH, *argv)
    assert (command.returncode, command.stdout, command.stderr) == (full.returncode, full.stdout, full.stderr)
    assert full.returncode in (0, 1), full.stderr  # checked: the organisation is known now
    assert not stale.exists()
    assert quick_only(env, argv) == (full.returncode, full.stdout)


def test_the_quick_paths_tables_are_the_models_tables() -> None:
    from reference.models import ReferenceRelease
    from submissions.models import PeriodReopening, ReportingPeriod
    from submissions.quick_check import (
        PERIOD_TABLE,
        REFERENCE_TABLES,
        RELEASE_TABLE,
        REOPENING_TABLE,
    )
    from submissions.selectors import REFERENCE_MODELS

    assert tuple((m._meta.db_table, m.history.model._meta.db_table)  # type: ignore[attr-defined]
                                     for m in REFERENCE_MODELS) == REFERENCE_TABLES
    assert (
        ReferenceRelease._meta.db_table, ReportingPeriod._meta.db_table, PeriodReopening._meta.db_table) == (RELEASE_TABLE, PERIOD_TABLE, REOPENING_TABLE)
    assert ReferenceRelease._meta.ordering == ["-loaded_at", "-id"]  # KEY_SQL's ORDER BY
