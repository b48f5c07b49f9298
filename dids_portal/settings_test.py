"""Test settings: speed and isolation only."""

import atexit
import os
import secrets
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from dids_portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The media and static folders are named here and made only by the suite (test_folders_make,
# from tests/conftest.py): a process that imports these settings and ends without running
# atexit handlers (mypy's Django plugin ends with os._exit) leaves no folder behind.
_FOLDERS = f"{os.getpid()}-{secrets.token_hex(4)}"
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"dids-test-media-{_FOLDERS}")
# Tests roll their writes back, so two tests' reference data can share a fingerprint (on SQLite
# ids are reused): the snapshot cache is on only where a test turns it on.
DIDS_REFERENCE_SNAPSHOT_CACHE = False
STATIC_ROOT = os.path.join(tempfile.gettempdir(), f"dids-test-static-{_FOLDERS}")


def test_folders_make() -> None:
    """Make the media and static folders (private); they are removed when the process ends."""
    for folder in (MEDIA_ROOT, STATIC_ROOT):
        os.makedirs(folder, mode=0o700, exist_ok=True)


def _remove_test_folders(owner: int = os.getpid()) -> None:
    """The suite leaves no media or static folders behind (a forked child leaves them alone)."""
    if os.getpid() == owner:
        for folder in (MEDIA_ROOT, STATIC_ROOT):
            shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove_test_folders)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Under pytest-xdist (``./dev test`` runs two processes) each process has its own test database
# (pytest-django suffixes its name) and its own Redis database, counting down from the broker
# URL's, so one process's real workers never take another's tasks.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER.startswith("gw"):
    from dids_portal.settings import CELERY_BROKER_URL

    _base, _, _db = CELERY_BROKER_URL.rpartition("/")
    if _base.startswith("redis") and _db.isdigit():
        CELERY_BROKER_URL = f"{_base}/{(int(_db) - int(_XDIST_WORKER[2:])) % 16}"
        # Celery reads the variable before its configuration (Settings.broker_url): the
        # process's own environment, and so its worker subprocesses', must say the same.
        os.environ["CELERY_BROKER_URL"] = CELERY_BROKER_URL

# Tasks run in-process in tests; the worker tests (marked ``worker``) switch the Celery app to
# the real broker themselves and run a real worker process.
CELERY_TASK_ALWAYS_EAGER = True

# The test client and live server speak plain HTTP; production redirects to HTTPS.
SECURE_SSL_REDIRECT = False

# A second alias on the same test database, as a read replica is (TEST MIRROR: no database of
# its own). Nothing reads from it unless a test sets DIDS_READ_REPLICA (tests/submissions/test_read_replica.py).
if IS_POSTGRES and "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
