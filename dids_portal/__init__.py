"""The project's wiring. Its Celery app (``dids_portal.celery``) is not made on import: Django
makes it as it starts (``dids_portal.apps.PortalConfig``), a worker or beat finds it with
``celery -A dids_portal``, and ``dids_portal.celery_app`` loads it when asked. Reading the
settings (as ``manage.py dids_check``'s quick path does) then loads no Celery."""

from typing import Any

__all__ = ("celery_app",)


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from dids_portal.celery import app

        return app
    raise AttributeError(f"module 'dids_portal' has no attribute {name!r}")
