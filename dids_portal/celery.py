"""The Celery application. Configuration comes from Django settings (CELERY_*)."""

import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")

app = Celery("dids_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_after_setup.connect(dispatch_uid="dids_extracts_need_a_direct_connection")
def refuse_extracts_behind_a_pooler(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """The extract writer holds a session-level advisory lock for as long as it writes, which
    PgBouncer in transaction pooling would hand to another client: a worker serving the
    ``extracts`` queue must connect to PostgreSQL directly (docs/SCALING.md)."""
    from django.conf import settings

    queues = set(instance.app.amqp.queues.consume_from) if instance is not None else set()
    if settings.DATABASE_POOLER and "extracts" in queues:
        # SystemExit, not an exception: Celery logs and carries on after a failing handler.
        raise SystemExit("A worker serving the extracts queue needs a direct database connection: "
                         "start it without DATABASE_POOLER, with DATABASE_URL pointing at "
                         "PostgreSQL itself.")
