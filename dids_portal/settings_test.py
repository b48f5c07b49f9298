"""Test settings: speed and isolation only."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from dids_portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = tempfile.mkdtemp(prefix="dids-test-media-")
STATIC_ROOT = tempfile.mkdtemp(prefix="dids-test-static-")


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

# Tasks run in-process in tests; the worker tests (marked ``worker``) switch the Celery app to
# the real broker themselves and run a real worker process.
CELERY_TASK_ALWAYS_EAGER = True

# The test client and live server speak plain HTTP; production redirects to HTTPS.
SECURE_SSL_REDIRECT = False
