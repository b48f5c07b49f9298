"""``manage.py dids_check`` without starting Django: the quick path, issue 15.

``django.setup()`` (the apps, their models, the signals) is half of a small check's start-up,
and the check needs none of it: the reference snapshot is a file the full path keeps under
MEDIA_ROOT/cache/ (``submissions.snapshot_cache``), and the month's window is a row or two.
``quick_check`` (called by manage.py first) reads the settings as Django does
(``django.conf.settings``, not set up), asks the database with a few SQL statements of its own
(sqlite3, or psycopg as Django connects) for the snapshot's key and the month's final deadline
and reopening (a month with no timetable row: its default deadline, kept in MEDIA_ROOT/cache/
once worked out), unpickles the snapshot of that key and runs the same engine call as
``submissions.checking.file_check``, printing what the command prints and returning its exit
code.

It returns None, having printed nothing, whenever it cannot do exactly that, and manage.py then
runs the command in full: arguments it does not know or cannot parse (every misuse error is
the full path's), --settings or --pythonpath, a file that is not there, settings that cannot be
read, another database engine or connection options of Django's own, the snapshot cache turned
off, no cache file of the current key (the full path builds and writes it, so the next check is
quick), an organisation the snapshot does not have, a month outside the calendar, and any
database or file error. tests/test_startup.py compares the two paths' output and exit codes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

COMMAND = "dids_check"
# The command's own options (submissions.engine.report_json.add_check_arguments), each taking a
# value: anything else, an abbreviation or a Django option included, is the full path's.
OPTIONS = ("--org", "--month", "--as-of", "--dataset-version", "--format", "--max-findings")
CHOICES = {"--dataset-version": ("1.0", "2.0"), "--format": ("json", "text")}
# libpq connection parameters: an OPTIONS key outside them means something to Django itself.
LIBPQ_OPTIONS = frozenset({"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl",
                           "connect_timeout", "application_name", "options", "passfile",
                           "target_session_attrs", "keepalives", "keepalives_idle",
                           "keepalives_interval", "keepalives_count", "gssencmode", "service"})
SQLITE = "django.db.backends.sqlite3"
POSTGRESQL = "django.db.backends.postgresql"

# The tables the snapshot's key counts, in the order of submissions.selectors.REFERENCE_MODELS
# (tests/test_startup.py holds them to the models' db_table), and those of the timetable.
REFERENCE_TABLES = (("reference_code", "reference_historicalcode"),
                    ("reference_nicipcode", "reference_historicalnicipcode"),
                    ("reference_snomedconcept", "reference_historicalsnomedconcept"),
                    ("reference_organisation", "reference_historicalorganisation"),
                    ("reference_site", "reference_historicalsite"),
                    ("reference_submittingarrangement", "reference_historicalsubmittingarrangement"))
RELEASE_TABLE = "reference_referencerelease"
PERIOD_TABLE = "submissions_reportingperiod"
REOPENING_TABLE = "submissions_periodreopening"
# ReferenceRelease.objects.first(): its Meta.ordering.
# The statements are made of the constant table names above only (values go as parameters).
KEY_SQL = ("SELECT (SELECT id FROM " + RELEASE_TABLE + " ORDER BY loaded_at DESC, id DESC LIMIT 1), "  # noqa: S608
           + ", ".join(f"(SELECT MAX(history_id) FROM {history}), (SELECT COUNT(*) FROM {table})"  # noqa: S608
                       for table, history in REFERENCE_TABLES))
DEADLINE_SQL = f"SELECT final_deadline FROM {PERIOD_TABLE} WHERE activity_month = %s"  # noqa: S608
REOPENED_SQL = (f"SELECT 1 FROM {REOPENING_TABLE} r JOIN {PERIOD_TABLE} p ON p.id = r.period_id "  # noqa: S608
                "WHERE p.activity_month = %s AND r.organisation_id = %s AND r.granted_at <= %s "
                "AND r.expires_at > %s LIMIT 1")


class Unsure(Exception):
    """The quick path cannot be sure to do what the full path does: the full path runs."""


def quick_check(argv: Sequence[str]) -> int | None:
    """Run ``manage.py dids_check ...`` (``argv`` as manage.py has it) without Django: its exit
    code, or None (nothing printed) where the full path must run."""
    if len(argv) < 2 or argv[1] != COMMAND:
        return None
    try:
        return _check(argv[2:])
    except Unsure:
        return None


def _check(args: Sequence[str]) -> int:
    from submissions.engine.report_json import CheckArgumentError, parse_as_of, parse_month

    file, options = _arguments(args)
    try:
        month = parse_month(options["--month"])
        as_of = parse_as_of(options.get("--as-of"))
    except CheckArgumentError as exc:
        raise Unsure from exc
    path = Path(file)
    if not path.is_file():
        raise Unsure
    database, media_root = _settings()
    code = options["--org"].strip().upper()
    at = as_of or datetime.now(UTC)
    try:
        with _connect(database) as db:
            snapshot = _snapshot(db, database, media_root)
            if code not in snapshot.organisations:
                raise Unsure
            deadline, reopened = _window(db, code=code, month=month, at=at, media_root=media_root)
    except Unsure:
        raise
    except Exception as exc:  # a driver's error (no such database or table), a month outside
        raise Unsure from exc  # the calendar: the full path reports it its own way
    return _run(path, options, snapshot=snapshot, code=code, month=month, at=at,
                deadline=deadline, reopened=reopened)


def _arguments(args: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The FILE and the options, as argparse would read them; Unsure for anything else."""
    from submissions.engine.report_json import non_negative_int

    files: list[str] = []
    options: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            files.append(arg)
            continue
        name, equals, value = arg.partition("=")
        if name not in OPTIONS or name in options:
            raise Unsure
        if not equals:
            value = next(rest, "-")
            if value.startswith("-"):
                raise Unsure
        options[name] = value
    if len(files) != 1 or "--org" not in options or "--month" not in options:
        raise Unsure
    for name, choices in CHOICES.items():
        if name in options and options[name] not in choices:
            raise Unsure
    if "--max-findings" in options:
        import argparse

        try:
            non_negative_int(options["--max-findings"])
        except argparse.ArgumentTypeError as exc:  # the full path's usage error
            raise Unsure from exc
    return files[0], options


def _settings() -> tuple[dict[str, Any], str]:
    """The default database and MEDIA_ROOT, read from the settings as Django reads them."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        if not settings.DIDS_REFERENCE_SNAPSHOT_CACHE:
            raise Unsure
        return dict(settings.DATABASES["default"]), str(settings.MEDIA_ROOT)
    except (ImproperlyConfigured, ImportError, AttributeError, KeyError) as exc:
        raise Unsure from exc


class _Database:
    """A cursor on the default database with Django's %s placeholders, and its values passed
    as Django's backend passes them."""

    def __init__(self, connection: Any, *, sqlite: bool) -> None:
        self.connection = connection
        self.cursor = connection.cursor()
        self.sqlite = sqlite

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cursor.execute(sql.replace("%s", "?") if self.sqlite else sql, list(params))
        return self.cursor.fetchone()

    def date(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def datetime(self, value: datetime) -> Any:
        """On SQLite, UTC clock time as text, which is how Django stores and compares it."""
        return str(value.astimezone(UTC).replace(tzinfo=None)) if self.sqlite else value


@contextlib.contextmanager
def _connect(database: dict[str, Any]) -> Iterator[_Database]:
    """The default database, read-only where the driver allows."""
    engine = database.get("ENGINE")
    if engine == SQLITE:
        db = _Database(_sqlite(database), sqlite=True)
    elif engine == POSTGRESQL:
        db = _Database(_postgresql(database), sqlite=False)
    else:
        raise Unsure
    try:
        yield db
    finally:
        db.connection.close()


def _sqlite(database: dict[str, Any]) -> Any:
    import sqlite3

    name = str(database.get("NAME") or "")
    if not name or name == ":memory:" or not Path(name).is_file():
        raise Unsure
    timeout = (database.get("OPTIONS") or {}).get("timeout", 5)
    return sqlite3.connect(f"{Path(name).resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _postgresql(database: dict[str, Any]) -> Any:
    options = dict(database.get("OPTIONS") or {})
    if set(options) - LIBPQ_OPTIONS:
        raise Unsure
    import psycopg

    params = {"dbname": database.get("NAME") or "postgres", "user": database.get("USER"),
              "password": database.get("PASSWORD"), "host": database.get("HOST"),
              "port": database.get("PORT")}
    return psycopg.connect(**{k: v for k, v in {**params, **options}.items() if v not in (None, "")},
                           autocommit=True)


def _snapshot(db: _Database, database: dict[str, Any], media_root: str) -> Any:
    """The cached snapshot of the reference data's current key (its name, the full path's)."""
    from submissions.snapshot_cache import (
        snapshot_cache_key,
        snapshot_cache_path,
        snapshot_cache_read,
    )

    row = db.one(KEY_SQL)
    tables = [(row[i], row[i + 1]) for i in range(1, len(row), 2)]
    key = snapshot_cache_key(host=database.get("HOST", ""), name=database.get("NAME", ""),
                             release_pk=row[0], tables=tables)
    snapshot = snapshot_cache_read(snapshot_cache_path(media_root, key))
    if snapshot is None:
        raise Unsure
    return snapshot


def _window(db: _Database, *, code: str, month: date, at: datetime,
            media_root: str) -> tuple[datetime, bool]:
    """What ``submissions.cycle.lock.month_window`` works out: the final deadline (the
    timetable's row, or the default) and whether the month is reopened for ``code`` at ``at``."""
    row = db.one(DEADLINE_SQL, [db.date(month)])
    deadline = _default_final_deadline(month, media_root) if row is None else _aware(row[0])
    if at <= deadline:
        return deadline, False
    return deadline, db.one(REOPENED_SQL, [db.date(month), code, db.datetime(at), db.datetime(at)]) is not None


def _default_final_deadline(month: date, media_root: str) -> datetime:
    """``submissions.cycle.timetable.default_deadlines(month).final`` (a month with no timetable
    row), remembered in MEDIA_ROOT/cache/ under a key of the timetable's code and the holidays
    package's version: importing that package (its calendars, dateutil) is a tenth of a second."""
    from submissions.engine.context import LONDON

    path = Path(media_root) / "cache" / f"default-deadlines-{_timetable_key()}.json"
    known: dict[str, str] = {}
    with contextlib.suppress(OSError, ValueError):
        known = json.loads(path.read_text())
        if month.isoformat() in known:
            return datetime.fromisoformat(known[month.isoformat()]).astimezone(LONDON)
    from submissions.cycle.timetable import default_deadlines

    deadline = default_deadlines(month).final
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".default-deadlines-")
        with os.fdopen(fd, "w") as handle:
            json.dump({**known, month.isoformat(): deadline.isoformat()}, handle)
        os.replace(temporary, path)
    return deadline


def _timetable_key() -> str:
    """The code that works out a default deadline: the timetable module, and the holidays
    package's installed version and United Kingdom module (found without importing it)."""
    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        raise Unsure
    folder = Path(next(iter(spec.submodule_search_locations)))
    installed = sorted(p.name for p in folder.parent.glob("holidays-*.dist-info"))
    if not installed:
        raise Unsure
    code = (Path(__file__).with_name("cycle") / "timetable.py").read_bytes()
    code += (folder / "countries" / "united_kingdom.py").read_bytes() + " ".join(installed).encode()
    return f"{zlib.crc32(code):08x}"


def _aware(value: datetime | str) -> datetime:
    """A stored datetime as Django reads it: aware, in UTC (SQLite holds UTC clock time)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run(path: Path, options: dict[str, str], *, snapshot: Any, code: str, month: date, at: datetime,
         deadline: datetime, reopened: bool) -> int:
    from submissions.engine.report_json import (
        CheckArgumentError,
        check_against,
        exit_code_for,
        report_output,
    )

    max_findings = options.get("--max-findings")
    try:
        report = check_against(path, reference=snapshot, organisation_code=code, activity_month=month,
                               as_of=at, dataset_version=options.get("--dataset-version") or None,
                               max_findings=int(max_findings) if max_findings is not None else None,
                               final_deadline=deadline, reopened=reopened)
    except (CheckArgumentError, OSError) as exc:
        raise Unsure from exc
    text = report_output(report, options.get("--format", "text"))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return exit_code_for(report)
