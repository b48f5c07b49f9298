"""Test settings: speed and isolation only."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from dids_portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = tempfile.mkdtemp(prefix="dids-test-media-")
STATIC_ROOT = tempfile.mkdtemp(prefix="dids-test-static-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tasks run in-process in tests; the worker tests (marked ``worker``) switch the Celery app to
# the real broker themselves and run a real worker process.
CELERY_TASK_ALWAYS_EAGER = True

# The test client and live server speak plain HTTP; production redirects to HTTPS.
SECURE_SSL_REDIRECT = False
