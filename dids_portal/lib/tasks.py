"""Queueing a Celery task by its name, so that services never import the tasks module.

Tasks import services and never the other way round: a service that queues work sends the
task by name. The task's module is imported the first time its name is sent (a worker has
imported it already, by autodiscovery), so a command that queues nothing (``dids_check``)
loads none of the writing code. ``Signature.delay`` runs the registered task eagerly where
``CELERY_TASK_ALWAYS_EAGER`` is set (the embedded default, the tests), as ``Task.delay`` would.
"""

from __future__ import annotations

import importlib
from typing import Any

from celery import current_app


def task_send(name: str, *args: Any) -> None:
    """Queue the task registered as ``name`` with positional ``args`` (primary keys)."""
    module = name.rpartition(".")[0]
    if module and name not in current_app.tasks:
        importlib.import_module(module)  # registers it
    current_app.signature(name, args=args).delay()
