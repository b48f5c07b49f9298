"""The Celery application. Configuration comes from Django settings (CELERY_*), and the two
values made of Celery's and kombu's own classes from here: beat's schedule (the table of
submissions.periodic) and the queues by kind (``DIDS_TASK_QUEUES``). The settings import no
Celery, so that reading them costs a command nothing; Django makes this app as it starts
(``dids_portal.apps.PortalConfig``), and ``celery -A dids_portal`` finds it here.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup, worker_init
from django.conf import settings
from kombu import Queue

from submissions.periodic import beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")

app = Celery("dids_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = beat_schedule()
app.conf.task_queues = [Queue(name, routing_key=name) for name in settings.DIDS_TASK_QUEUES]
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


@worker_init.connect(dispatch_uid="dids_worker_nice")
def lower_worker_priority(sender: Any = None, **kwargs: Any) -> None:
    """Run the worker at DIDS_WORKER_NICE: where the workers share cores with gunicorn, the
    kernel then gives the web's short requests the CPU first and the long validations what is
    left (all of it when the web is idle). Set in the worker's main process before its pool
    forks, so every pool process inherits it. A niceness is only ever raised (an unprivileged
    process cannot lower it): a worker started under ``nice -n 10`` stays at 10."""
    from django.conf import settings

    set_niceness(settings.DIDS_WORKER_NICE)


def set_niceness(wanted: int) -> int:
    """Raise this process's niceness to ``wanted`` (never lower it); return the niceness now."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if wanted > current:
        os.setpriority(os.PRIO_PROCESS, 0, wanted)
    return os.getpriority(os.PRIO_PROCESS, 0)
