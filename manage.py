#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dids_portal.settings")
    # manage.py is the developer's entry point: without DEBUG in the environment it runs in
    # development mode (and its development key). The WSGI/ASGI apps and Celery do not: they
    # need SECRET_KEY. Production sets DEBUG=0 for management commands.
    os.environ.setdefault("DEBUG", "1")
    from submissions.quick_check import quick_check

    code = quick_check(sys.argv)  # dids_check without django.setup(), where it can be sure
    if code is not None:
        sys.exit(code)
    from dids_portal.lib.lean_start import lean_apps

    lean_apps(sys.argv)  # dids_check: only the apps whose models it reads
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
