"""Benchmark: the CPU time of one request to each provider status endpoint, in one process.

bench/api.py measures the endpoints under 50 clients on gunicorn, where the machine's other
work moves the figures; this measures what a request costs in CPU, which load changes much
less: the Django WSGI handler is called in a loop with the production settings (no server, no
network), for --requests requests per endpoint after a warm-up, and the process CPU time per
request is printed beside the bare Django response (an unrouted path under /api/, a 404
through every middleware and the URL resolver) and /healthz, measured in the same run. The
CPU of the PostgreSQL backend is not in it (it is the same few index reads either way).

It reads bench/api.py's data: run that once first, with the same DATABASE_URL, to seed it.
``--profile N`` also prints cProfile's N most costly functions (cumulative) per endpoint.

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
    for name, path, headers, expected in endpoints:
        status, body = call(application, path, headers)
        if not status.startswith(expected):
            sys.exit(f"{path} answered {status}: {body[:300]!r}")
        for _ in range(min(200, args.requests)):  # warm-up
            call(application, path, headers)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            for _ in range(args.requests):
                call(application, path, headers)
            best = min(best, (time.process_time() - start) / args.requests)
        results[name] = best
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
    print(f"{'endpoint':<34} {'CPU ms/request':>15} {'x django':>9}")
    for name, path, _, _ in endpoints:
        shown = path.replace(str(live_id), "{id}").replace(code, "CODE")
        print(f"{shown:<34} {results[name] * 1000:>15.3f} {results[name] / base:>8.2f}x")


if __name__ == "__main__":
    main()
