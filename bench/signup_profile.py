"""CPU per sign-up in-process: where bench/signup.py's gunicorn time goes, on a busy machine too.

    python bench/signup_profile.py [--requests 1000] [--rounds 3] [--profile 30]
                                   [--routes constant,insert,subscribe,api]
                                   [--checkout DIR] [--database newsletter_profile] [--redis URL]

Builds the same setting as bench/signup.py (a fresh PostgreSQL database `--database` upgraded
with `newsletter db upgrade`, one public double-opt-in list, the `bench_insert` table, Redis
database `--redis` flushed, NEWSLETTER_BENCH=1 and the per-IP limit lifted), then creates the
app in this process and calls its WSGI callable directly, one request at a time, with environs
built beforehand. As in the bench, each of 16 simulated visitors fetches the form (session
cookie and CSRF token) once before the timed part, and every sign-up is a valid new address.
The `api` route is the API's `POST /api/v1/subscribers` as bench/signup.py's visitors send it
(a JSON body, double opt-in, one bearer token of an admin account made by the same
`prepare_api`, no Idempotency-Key); it is left out of the default routes, so that the
default run makes no account or token.

For each route and round it prints the CPU milliseconds per request of this process
(time.process_time: Flask, SQLAlchemy, the drivers, the Redis client; not gunicorn's own
HTTP parsing) and of the PostgreSQL backends serving the app's pool (from /proc/<pid>/stat of
each connection's pg_backend_pid(); Linux only). CPU time barely moves when other jobs share
the machine, unlike throughput, but contention still moves it by 10-30 %: compare two versions
by alternating runs (`--checkout` picks the source tree to import). `--profile N` adds a
cProfile of each route (CPU clock), its top N functions by cumulative and own time, and the
number of Python function calls per request, which unlike CPU time does not vary.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import redis
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu import TICKS
from signup import (
    API_WORDING,
    CHECKOUT,
    LIST_SLUG,
    bench_environment,
    prepare_api,
    prepare_schema,
    recreate_database,
    signup_form,
)

VISITORS = 16


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200, help="uncounted requests per route")
    parser.add_argument("--routes", default="constant,insert,subscribe")
    parser.add_argument("--profile", type=int, default=0, help="cProfile top N (0: none)")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="any database of the server, to create the profile one from",
    )
    parser.add_argument(
        "--checkout",
        default=str(CHECKOUT),
        help="the source tree whose newsletter package to run (to compare two versions)",
    )
    parser.add_argument("--database", default="newsletter_profile")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    return parser.parse_args()


class Backends:
    """The PostgreSQL backend of every connection the app's pool opens, and their CPU ticks."""

    def __init__(self, engine: sa.Engine) -> None:
        self.pids: set[int] = set()
        sa.event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pids.add(cursor.fetchone()[0])
        cursor.close()

    def ticks(self) -> int:
        total = 0
        for pid in self.pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # closed, or another machine
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
        return total


def _environ(path: str, method: str = "GET", **kwargs) -> dict:
    return EnvironBuilder(path=path, method=method, **kwargs).get_environ()


class Visitor:
    """One browser: its session cookie and CSRF token, from one GET /subscribe."""

    def __init__(self, app, index: int) -> None:
        client = app.test_client()
        page = client.get("/subscribe")
        self.token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
        self.cookie = page.headers["Set-Cookie"].split(";", 1)[0]
        self.index, self.count = index, 0

    def environ(self, run: str) -> dict:
        self.count += 1
        form = signup_form(self.token, f"{run}-v{self.index}-{self.count}@example.org")
        return _environ(
            "/subscribe",
            "POST",
            data=urlencode(form),
            content_type="application/x-www-form-urlencoded",
            headers={"Cookie": self.cookie},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )


def api_environ(token: str, email: str) -> dict:
    """bench/signup.py's ApiVisitor request: add `email` by double opt-in with the token."""
    body = {"email": email, "lists": [LIST_SLUG], "wording": API_WORDING}
    return _environ(
        "/api/v1/subscribers",
        "POST",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )


def build_environs(
    route: str, count: int, visitors: list[Visitor], api_token: str = ""
) -> list[dict]:
    if route == "constant":
        return [_environ("/_bench/constant") for _ in range(count)]
    if route == "insert":
        return [_environ("/_bench/insert", "POST") for _ in range(count)]
    run = secrets.token_hex(3)
    if route == "api":
        return [api_environ(api_token, f"api-{run}-{i}@example.org") for i in range(count)]
    return [visitors[i % len(visitors)].environ(run) for i in range(count)]


def drive(app, environs: list[dict], expected: tuple[str, bytes]) -> None:
    """Call the WSGI app once per environ, reading each body as a server would, and check
    each answer against `expected` (its status, and a piece of its body)."""
    status, check = expected
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    for environ in environs:
        body = app.wsgi_app(environ, start_response)
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        if not statuses[-1].startswith(status) or check not in data:
            sys.exit(f"unexpected answer: {statuses[-1]}\n{data[:500]!r}")


# Each route's answer: (status, a piece of the body).
CHECKS = {
    "constant": ("200", b"ok"),
    "insert": ("200", b"ok"),
    "subscribe": ("200", b"<h1>Check your email</h1>"),
    "api": ("202", b'"status":"accepted"'),
}


def measure(app, backends: Backends, route: str, environs: list[dict]) -> tuple[float, float]:
    """(process CPU ms, PostgreSQL backend CPU ms) per request."""
    ticks, cpu = backends.ticks(), time.process_time()
    drive(app, environs, CHECKS[route])
    used = time.process_time() - cpu
    pg = (backends.ticks() - ticks) / TICKS
    return used * 1e3 / len(environs), pg * 1e3 / len(environs)


def profile(app, route: str, environs: list[dict], top: int) -> None:
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(drive, app, environs, CHECKS[route])
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(top)
        print(out.getvalue())
    # Deterministic, unlike CPU time: a proxy for the Python work a sign-up does.
    print(f"{route}: Python function calls per request: {stats.total_calls / len(environs):.0f}")


def main() -> None:
    args = parse_args()
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    database_url = recreate_database(args.postgres, args.database)
    redis.Redis.from_url(args.redis).flushdb()
    env = bench_environment(database_url, args.redis, 80)
    with tempfile.TemporaryDirectory(prefix="nl-profile-") as folder:
        prepare_schema(database_url, env, Path(folder))
        api_token = prepare_api(env, Path(folder)) if "api" in routes else ""
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, args.checkout)  # that tree's package, not an installed copy
    from newsletter import create_app

    app = create_app()
    print(f"newsletter from {Path(sys.modules['newsletter'].__file__).parent}")
    with app.app_context():
        from newsletter.extensions import db

        backends = Backends(db.engine)
    visitors = [Visitor(app, i) for i in range(VISITORS)]
    print(f"{args.rounds} rounds of {args.requests} requests per route, after {args.warmup}")
    print(f"{'route':<10} {'app CPU ms/req':>15} {'PostgreSQL ms/req':>18}   (each round)")
    for route in routes:
        drive(app, build_environs(route, args.warmup, visitors, api_token), CHECKS[route])
        results = []
        for _ in range(args.rounds):
            environs = build_environs(route, args.requests, visitors, api_token)
            results.append(measure(app, backends, route, environs))
        app_ms = [a for a, _ in results]
        pg_ms = [p for _, p in results]
        print(
            f"{route:<10} {min(app_ms):>9.3f} min {statistics.median(pg_ms):>12.3f} median   "
            + " ".join(f"{a:.2f}/{p:.2f}" for a, p in results),
            flush=True,
        )
    if args.profile:
        for route in routes:
            environs = build_environs(route, args.requests, visitors, api_token)
            profile(app, route, environs, args.profile)
    recreate_database(args.postgres, args.database, drop_only=True)
    redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
