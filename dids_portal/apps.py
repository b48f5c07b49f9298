"""The project's app configs: the admin's, and the project's own (which makes the Celery app).

The admin's ModelAdmin modules load with the URLconf, not at every start-up.

Django's default admin config imports every app's ``admin.py`` when Django starts, and with them
import-export, its spreadsheet formats and the services they call: a third of the start-up of a
command that never shows a page. Here ``dids_portal.urls`` discovers them (as ``admin.site``'s
class and titles are set there), and so does the admin's system check before it runs, so that
``manage.py check`` still checks every ModelAdmin.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


def check_discovered_admin(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)


class AdminConfig(SimpleAdminConfig):
    def ready(self) -> None:
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(check_discovered_admin, checks.Tags.admin)


class PortalConfig(AppConfig):
    """The project itself (no models): makes the Celery app as Django starts, so that every
    task sent (``dids_portal.lib.tasks.task_send``, ``shared_task``) goes through its
    configuration: the broker, eager tasks, the queues and routes."""

    name = "dids_portal"
    label = "dids_portal"
    verbose_name = "DIDS Portal"

    def ready(self) -> None:
        import dids_portal.celery  # noqa: F401  (makes and configures the app)
