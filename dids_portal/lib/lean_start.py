"""Start-up of a command that only reads: Django loads the apps whose models it reads.

``manage.py dids_check`` reads the reference data, the month's timetable row and reopenings,
and nothing else: with every app installed, ``django.setup()`` would also import
django-celery-beat's models (and Celery's schedules with them), the REST framework, the admin,
import-export, django-otp and axes, a third of its start-up. ``lean_apps`` (called by
manage.py before Django starts) keeps, of ``INSTALLED_APPS`` and in their order, only the apps
whose models the command's own models need. The command runs the same code on the same models
either way (tests/test_startup.py compares the two on late, reopened and ordinary months and on
the misuse errors); every other command, and the web and the workers, load every app.

Not done (the full set loads) when --settings or --pythonpath is given (Django reads them only
when it starts) or when the settings do not name every one of the command's apps as is.
"""

from __future__ import annotations

from collections.abc import Sequence

# The check's models and what they point at: reference data and the timetable (with their
# history models, simple_history's), and the users who load a release or grant a reopening
# (whose app connects its audit receivers, one of them to django-otp's TOTP devices).
CHECK_APPS = ("django.contrib.auth", "django.contrib.contenttypes", "simple_history", "django_otp",
              "django_otp.plugins.otp_totp", "accounts", "reference", "submissions")
LEAN_COMMANDS = {"dids_check": CHECK_APPS}


def lean_apps(argv: Sequence[str]) -> bool:
    """Before ``django.setup()``: if ``argv`` runs a lean command, install only its apps.

    True if it did. Settings that cannot be read are left to Django, which reports them."""
    if len(argv) < 2 or argv[1] not in LEAN_COMMANDS:
        return False
    if any(arg.startswith(("--settings", "--pythonpath")) for arg in argv[2:]):
        return False
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        installed = list(settings.INSTALLED_APPS)
    except (ImproperlyConfigured, ImportError):
        return False
    needed = LEAN_COMMANDS[argv[1]]
    if not set(needed) <= set(installed):
        return False
    settings.INSTALLED_APPS = [app for app in installed if app in needed]
    return True
