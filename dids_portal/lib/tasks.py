"""Queueing a Celery task by its name, so that services never import the tasks module.

Tasks import services and never the other way round: a service that queues work sends the
task by name. ``Signature.delay`` runs the registered task eagerly where
``CELERY_TASK_ALWAYS_EAGER`` is set (the embedded default, the tests), as ``Task.delay``
would; each app's ``ready()`` imports its tasks module so that the name is registered.
"""

from __future__ import annotations

from typing import Any

from celery import current_app


def task_send(name: str, *args: Any) -> None:
    """Queue the task registered as ``name`` with positional ``args`` (primary keys)."""
    current_app.signature(name, args=args).delay()
