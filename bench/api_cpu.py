"""Benchmark: the CPU time of one request to each provider status endpoint, in one process.

bench/api.py measures the endpoints under 50 clients on gunicorn, where the machine's other
work moves the figures; this measures what a request costs in CPU, which load changes much
less: the Django WSGI handler is called in a loop with the production settings (no server, no
network), for --requests requests per endpoint after a warm-up, and the process CPU time per
request is printed beside the bare Django response (an unrouted path under /api/, a 404
through every middleware and the URL resolver) and /healthz, measured in the same run; and
beside it the CPU the PostgreSQL backend serving this process spent per request (from
/proc/PID/stat when the server is on this machine: parsing, planning and running the
statements, and writing their results), since on a machine of two cores both are the budget.

It reads bench/api.py's data: run that once first, with the same DATABASE_URL, to seed it.
``--profile N`` also prints cProfile's N most costly functions per endpoint in CPU time
(cumulative; ``BENCH_SORT=tottime`` sorts by own time).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/dids_bench_api .venv/bin/python
       bench/api_cpu.py [--requests 2000] [--repeat 3] [--profile 0] [--only submissions,...]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dids_bench_api"
BARE_DJANGO_PATH = "/api/bench-no-such-endpoint/"


def environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    route, _, query = path.partition("?")
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": route, "QUERY_STRING": query,
        "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for name, value in headers.items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def backend_cpu(pid: int | None) -> float | None:
    """The CPU seconds (user + system) of this PostgreSQL backend so far, None if unreadable."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pid() -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def call(application: Any, path: str, headers: dict[str, str]) -> tuple[str, bytes]:
    answer: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> None:
        answer.append(status)

    body = b"".join(application(environ(path, headers), start_response))
    return answer[0], body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint and round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is printed")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Point DATABASE_URL at bench/api.py's database (its name says bench).")
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "dids_portal.settings",
                       "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "SECURE_PROXY_SSL_HEADER": "1"})
    os.environ.setdefault("SECRET_KEY", "bench-only-" + os.urandom(8).hex())
    os.environ.pop("CELERY_BROKER_URL", None)
    import logging

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    logging.disable(logging.WARNING)  # the 404s' "Not Found" lines
    from accounts.models import User
    from accounts.services import api_token_create
    from submissions.models import Submission

    user = User.objects.filter(email="ris@bench.example.nhs.uk").first()
    if user is None:
        sys.exit("No bench data: run bench/api.py once with this DATABASE_URL.")
    code = user.memberships.values_list("organisation_id", flat=True).first()
    _, token = api_token_create(actor=user, organisation_code=code, name="bench CPU")
    live_id = (Submission.objects.filter(organisation_id=code, is_live=True)
               .order_by("-activity_month").values_list("pk", flat=True)[0])
    proxy = {"X-Forwarded-Proto": "https"}
    auth = {**proxy, "Authorization": f"Token {token}"}
    endpoints = [
        ("healthz", "/healthz", proxy, "200"),
        ("django", BARE_DJANGO_PATH, proxy, "404"),
        ("submissions", "/api/submissions/", auth, "200"),
        ("submission", f"/api/submissions/{live_id}/", auth, "200"),
        ("months", f"/api/months/?organisation={code}", auth, "200"),
    ]
    if args.only:
        chosen = set(args.only.split(",")) | {"healthz", "django"}
        endpoints = [e for e in endpoints if e[0] in chosen]
    load = os.getloadavg()
    results: dict[str, float] = {}
    server: dict[str, float | None] = {}
    for name, path, headers, expected in endpoints:
        status, body = call(application, path, headers)
        if not status.startswith(expected):
            sys.exit(f"{path} answered {status}: {body[:300]!r}")
        for _ in range(min(200, args.requests)):  # warm-up
            call(application, path, headers)
        best, best_server = float("inf"), None
        for _ in range(args.repeat):
            pid = backend_pid()
            server_start = backend_cpu(pid)
            start = time.process_time()
            for _ in range(args.requests):
                call(application, path, headers)
            spent = (time.process_time() - start) / args.requests
            server_end = backend_cpu(pid) if backend_pid() == pid else None
            if spent < best:
                best = spent
                best_server = (None if server_start is None or server_end is None
                               else (server_end - server_start) / args.requests)
        results[name], server[name] = best, best_server
        if args.profile:
            profile = cProfile.Profile(time.process_time)  # CPU, not waits
            profile.enable()
            for _ in range(args.requests):
                call(application, path, headers)
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(args.profile)
            print(f"--- {name} {path}\n{out.getvalue()}")
    end = os.getloadavg()
    print(f"load average {load[0]:.2f} at the start, {end[0]:.2f} at the end; {args.requests} "
          f"requests per endpoint, best of {args.repeat} rounds; process CPU only")
    base = results["django"]
    print(f"{'endpoint':<34} {'CPU ms/request':>15} {'x django':>9} {'server ms':>10} "
          f"{'both ms':>8} {'x django':>9}")
    base_both = base + (server["django"] or 0.0)
    for name, path, _, _ in endpoints:
        shown = path.replace(str(live_id), "{id}").replace(code, "CODE")
        db = server[name]
        both = results[name] + (db or 0.0)
        extra = ("" if db is None else
                 f" {db * 1000:>10.3f} {both * 1000:>8.3f} {both / base_both:>8.2f}x")
        print(f"{shown:<34} {results[name] * 1000:>15.3f} {results[name] / base:>8.2f}x{extra}")
    print("server: the PostgreSQL backend's CPU per request (clock ticks of /proc/PID/stat, "
          "so about 0.01 ms per request at this count); both: this process plus it")


if __name__ == "__main__":
    main()
