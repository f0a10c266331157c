"""Benchmark: the sign-up routes under gunicorn on PostgreSQL and Redis, against two floors.

    python bench/signup.py [--duration 15] [--connections 16] [--reopen-every 50]
                           [--workers 2] [--threads 4] [--idempotency-keys]
                           [--routes constant,insert,subscribe,embed,api]

The sign-up routes are `POST /subscribe` (the form on our page), `POST /subscribe/embed` (the
form a list's admin page offers to paste into the organisation's own site) and
`POST /api/v1/subscribers` (the API's add-subscriber, by double opt-in). Each is one entry
of ROUTES below: a label and a visitor class (what one simulated browser does). A new route is
one more visitor class and one more entry; `compared` routes get their throughput as a share
of the single-INSERT route's.

Needs a PostgreSQL server that lets `--postgres` create databases (trust auth) and a Redis
server; nothing is downloaded. The script drops and recreates the database `--database`
(default newsletter_bench), flushes the Redis database of `--redis` (default index 14), runs
`newsletter db upgrade`, creates a public double-opt-in list and a `bench_insert` table, then
starts gunicorn on a free loopback port with NEWSLETTER_BENCH=1, which adds two reference
routes (newsletter/web/bench.py):

- GET /_bench/constant answers a constant: the floor of gunicorn + Flask;
- POST /_bench/insert does one INSERT and commit through the app's session: the floor of a write.

Each route is loaded in turn by `--connections` closed-loop connections (bench/loadgen.py),
after a warm-up that is not counted. Every sign-up is valid and uses a new address (new
across the routes of a run too: each visitor class starts its addresses differently); each
simulated visitor of /subscribe fetches the form (session cookie and CSRF token) once, before
the timed POSTs; a visitor of /subscribe/embed posts as a browser on the organisation's site
does, with no cookie or token and an allowed `Origin` (stored on the settings, with the
snippet's wording issued, by `newsletter` code run once before gunicorn starts). A visitor of
/api/v1/subscribers is an integration posting JSON (`email`, `lists`, `wording`: double
opt-in) with `Authorization: Bearer` and one token for all connections, as one organisation's
system would; the token (scope `subscribers`, of an admin account) is made with the app's own
code (newsletter/accounts.py, newsletter/api_tokens.py) in a child process before gunicorn
starts, only when the route is measured. With `--idempotency-keys` each API request also
carries a new `Idempotency-Key` (the stored answer is then one more write); by default none.

The per-IP sign-up limit is lifted (SIGNUP_RATE_PER_IP, since every request comes from
127.0.0.1) but still checked, and so is the API's per-token limit (API_RATE_PER_TOKEN, since
every API request uses the one token); the silent per-address limit is untouched (never
reached with distinct addresses). The two forms count against the same limits, per IP and
per address; the API counts per token and per address (the same per-address counters as the
forms), not per IP. No worker consumes the queue: the sign-ups wait in Redis, to be recorded
(and their confirmation mails sent) by a worker.

The table gives requests per second, p50 and p99 latency, errors, and the CPU each party used
(in cores: the load generator, gunicorn, PostgreSQL, Redis, and each gunicorn worker apart),
read from /proc on Linux; then each sign-up route's share of the INSERT route's throughput
against the target, and the load average before and after (the machine may be shared).

Each client connection is closed and opened again every `--reopen-every` requests (50), as
browsers and proxies let connections go. A connection kept for the whole run stays with the
worker that accepted it, and one worker tends to accept nearly all 16 at the start: with
`--reopen-every 0` the constant route gave 1,060-1,160 req/s with one worker busy and the
other idle, against 2,740-2,850 reopening. Reopened
connections are accepted by whichever worker is free, as in real use.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu import CpuMeter
from loadgen import Connection, HttpError, Response, run_load

CHECKOUT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LIST_SLUG = "bench"
# The organisation's site the embedded form is posted from (allowed by prepare_embed).
EMBED_ORIGIN = "https://www.bench.example"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
# The account the API token belongs to, and the consent text an integration's form showed.
API_ACCOUNT = "bench-api@example.org"
API_WORDING = "Send me Bench weekly, one email a week. I can unsubscribe at any time."


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="timed seconds per route")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds per route")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--reopen-every",
        type=int,
        default=50,
        help="requests per client connection before it is closed and opened again (0: never)",
    )
    parser.add_argument(
        "--idempotency-keys",
        action="store_true",
        help="send a new Idempotency-Key with each API request (default: none)",
    )
    add_server_options(parser)
    parser.add_argument(
        "--routes",
        default=",".join(ROUTES),
        help=f"comma-separated subset of {','.join(ROUTES)}",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and Redis data")
    return parser.parse_args()


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options that say which servers to use and how gunicorn runs (shared by the sign-up
    benchmarks)."""
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="any database of the server, to create the bench one from",
    )
    parser.add_argument("--database", default="newsletter_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")


def signup_form(csrf_token: str, email: str) -> dict[str, str]:
    """A valid sign-up to the bench list, the honeypot left empty as a person leaves it."""
    return {"csrf_token": csrf_token, "email": email, "name": "", "lists": LIST_SLUG, "website": ""}


def recreate_database(admin_url: str, name: str, drop_only: bool = False) -> str:
    """Drop and (unless drop_only) create `name`; return its psycopg URL."""
    url = sa.make_url(admin_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def bench_environment(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SMTP_URL", "SUPPRESSION_KEY"}}
    # gunicorn and the CLI run in a scratch folder: make them import this checkout's package,
    # not whichever copy is installed in site-packages.
    path = os.pathsep.join(p for p in (str(CHECKOUT), env.get("PYTHONPATH", "")) if p)
    env.update(
        PYTHONPATH=path,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(32),
        BASE_URL=f"http://{HOST}:{port}",
        NEWSLETTER_BENCH="1",
        # Every request comes from 127.0.0.1: keep the check, lift the limit.
        SIGNUP_RATE_PER_IP="100000000 per hour",
        # Every API request uses the one bench token: likewise.
        API_RATE_PER_TOKEN="100000000 per hour",
    )
    return env


def newsletter_command(*args: str, env: dict[str, str], cwd: Path) -> None:
    script = Path(sys.executable).with_name("newsletter")
    command = [str(script)] if script.exists() else [shutil.which("newsletter") or "newsletter"]
    subprocess.run(command + list(args), env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def prepare_schema(database_url: str, env: dict[str, str], cwd: Path) -> None:
    newsletter_command("db", "upgrade", env=env, cwd=cwd)
    newsletter_command(
        "lists",
        "create",
        LIST_SLUG,
        "--name",
        "Bench weekly",
        "--description",
        "One email a week.",
        env=env,
        cwd=cwd,
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)")


@contextmanager
def gunicorn(args: argparse.Namespace, env: dict[str, str], port: int, cwd: Path):
    """gunicorn serving create_app() on HOST:port until the block ends."""
    log = cwd / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        # gthread even with one thread: keep-alive, as with the default of four.
        "--worker-class",
        "gthread",
        "--error-logfile",
        str(log),
        "newsletter:create_app()",
    ]
    process = subprocess.Popen(command, env=env, cwd=cwd)
    try:
        _wait_until_serving(port, process, log)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_serving(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log.read_text()}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not start within 30 s")


@dataclass(frozen=True)
class Setting:
    """What a visitor may need to know about the bench's app."""

    port: int
    embed_wording: str = ""
    api_token: str = ""
    idempotency_keys: bool = False


class Visitor:
    """One simulated browser on one connection: `prepare` once, then one visit per request."""

    # Starts each address, so that no two routes of a run sign up the same one.
    address_prefix = ""

    def __init__(self, index: int, setting: Setting) -> None:
        self.index, self.count, self.setting = index, 0, setting

    async def prepare(self, connection: Connection) -> None:
        """Anything done before the timed part (fetching a form); nothing by default."""

    async def __call__(self, connection: Connection) -> bool:
        raise NotImplementedError

    def next_address(self) -> str:
        self.count += 1
        return f"{self.address_prefix}v{self.index}-{self.count}@example.org"


class ConstantVisitor(Visitor):
    async def __call__(self, connection: Connection) -> bool:
        response = await connection.request("GET", "/_bench/constant", {})
        return response.status == 200


class InsertVisitor(Visitor):
    async def __call__(self, connection: Connection) -> bool:
        response = await connection.request("POST", "/_bench/insert", FORM_HEADERS)
        return response.status == 200


class SignupVisitor(Visitor):
    """One person's browser: fetches the form once, then signs up new addresses on it."""

    headers: dict[str, str]
    token = ""

    async def prepare(self, connection: Connection) -> None:
        response = await connection.request("GET", "/subscribe", {})
        match = re.search(rb'name="csrf_token" value="([^"]+)"', response.body)
        if response.status != 200 or match is None or "set-cookie" not in response.headers:
            raise HttpError(f"GET /subscribe gave {response.status} without a form")
        self.token = match.group(1).decode()
        cookie = response.headers["set-cookie"].split(";", 1)[0]
        self.headers = {**FORM_HEADERS, "Cookie": cookie}

    async def __call__(self, connection: Connection) -> bool:
        form = signup_form(self.token, self.next_address())
        response = await connection.request(
            "POST", "/subscribe", self.headers, urlencode(form).encode()
        )
        return _is_check_email_page(response)


class EmbedVisitor(Visitor):
    """A browser on the organisation's site posting the pasted form: no cookie, no token."""

    address_prefix = "embed-"

    async def __call__(self, connection: Connection) -> bool:
        form = {
            "email": self.next_address(),
            "name": "",
            "website": "",
            "lists": LIST_SLUG,
            "wording": self.setting.embed_wording,
        }
        headers = {**FORM_HEADERS, "Origin": EMBED_ORIGIN, "Referer": f"{EMBED_ORIGIN}/news"}
        response = await connection.request(
            "POST", "/subscribe/embed", headers, urlencode(form).encode()
        )
        return _is_check_email_page(response)


class ApiVisitor(Visitor):
    """An integration adding people by double opt-in through the API with its bearer token."""

    address_prefix = "api-"

    async def __call__(self, connection: Connection) -> bool:
        address = self.next_address()
        body = {"email": address, "lists": [LIST_SLUG], "wording": API_WORDING}
        headers = {
            "Authorization": f"Bearer {self.setting.api_token}",
            "Content-Type": "application/json",
        }
        if self.setting.idempotency_keys:
            headers["Idempotency-Key"] = f"bench-{address}"
        response = await connection.request(
            "POST", "/api/v1/subscribers", headers, json.dumps(body).encode()
        )
        return response.status == 202 and json.loads(response.body).get("status") == "accepted"


def _is_check_email_page(response: Response) -> bool:
    return response.status == 200 and b"<h1>Check your email</h1>" in response.body


@dataclass(frozen=True)
class Route:
    label: str
    visitor: type[Visitor]
    compared: bool = False  # a sign-up route: its req/s as a share of the INSERT route's


# The routes measured, in order. To add one: a Visitor subclass above and a line here.
ROUTES = {
    "constant": Route("GET /_bench/constant", ConstantVisitor),
    "insert": Route("POST /_bench/insert", InsertVisitor),
    "subscribe": Route("POST /subscribe", SignupVisitor, compared=True),
    "embed": Route("POST /subscribe/embed", EmbedVisitor, compared=True),
    "api": Route("POST /api/v1/subscribers", ApiVisitor, compared=True),
}


async def load_route(route: str, setting: Setting, args: argparse.Namespace):
    count = args.connections
    connections = [Connection(HOST, setting.port, args.reopen_every) for _ in range(count)]
    visits = [ROUTES[route].visitor(i, setting) for i in range(count)]
    await asyncio.gather(*(v.prepare(c) for v, c in zip(visits, connections, strict=True)))
    return await run_load(connections, visits, args.warmup, args.duration)


def print_table(rows: list[tuple[str, object, dict[str, float]]]) -> None:
    header = (
        f"{'route':<24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}   "
        "CPU in cores: loadgen gunicorn postgres redis  each worker"
    )
    print(header)
    for route, result, cpu in rows:
        print(
            f"{ROUTES[route].label:<24} {result.rate:>8.0f} {result.percentile(50) * 1e3:>7.1f} "
            f"{result.percentile(99) * 1e3:>7.1f} {result.errors:>6}   "
            f"{' ' * 13}{result.cpu_share:>7.2f} {cpu.get('gunicorn', 0):>8.2f} "
            f"{cpu.get('postgres', 0):>8.2f} {cpu.get('redis', 0):>5.2f}  "
            + "/".join(f"{cores:.2f}" for cores in cpu.get("workers", {}).values())
        )
    by_route = {route: result for route, result, _ in rows}
    if "insert" not in by_route:
        return
    floor = by_route["insert"].rate
    if floor == 0:
        print("no INSERT request ended inside the timed window: no share to give")
        return
    for route, result in by_route.items():
        if ROUTES[route].compared:
            ratio = result.rate / floor
            p99 = result.percentile(99) * 1e3
            met = "met" if ratio >= 0.5 and p99 < 100 else "MISSED"
            print(
                f"{ROUTES[route].label} / single INSERT throughput: {ratio:.0%}, p99 {p99:.1f} ms "
                f"(target: at least 50 %, p99 under 100 ms): {met}"
            )


def _worker_of(server_pid: int):
    return lambda pid, parent, name: str(pid) if parent == server_pid else None


def check_signups(database_url: str, redis_url: str) -> None:
    """The POSTs really asked for sign-ups: what is stored, and what waits for a worker.

    The form queues each sign-up for a worker to record (newsletter/web/public/signup.py), so
    with no worker running the database holds nothing new and the queue holds every sign-up.
    """
    with psycopg.connect(database_url) as conn:
        people = conn.execute("SELECT count(*) FROM subscriber").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM consent_event").fetchone()[0]
    queued = redis.Redis.from_url(redis_url).llen("dramatiq:system")
    print(f"stored: {people} subscribers, {events} consent events; {queued} sign-ups queued")


def prepare_embed(env: dict[str, str], cwd: Path) -> str:
    """Allow EMBED_ORIGIN on the settings and issue the bench list's snippet, as the admin
    pages do (newsletter code, run once in a child process); returns the wording version."""
    script = (
        "from newsletter import create_app, settings\n"
        "from newsletter.lists import get_list\n"
        "from newsletter.web.admin.snippet import snippet_for\n"
        "app = create_app()\n"
        "with app.test_request_context():\n"
        f"    settings.save(app, {{'embed_origins': {EMBED_ORIGIN!r}}}, actor='bench')\n"
        f"    print(snippet_for(get_list({LIST_SLUG!r})).version)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=cwd, check=True, capture_output=True
    )
    return done.stdout.decode().split()[-1]


def prepare_api(env: dict[str, str], cwd: Path) -> str:
    """Make an admin account and an API token with the scope `subscribers` for it, with the
    app's own code (newsletter code, run once in a child process); returns the token."""
    script = (
        "import secrets\n"
        "from newsletter import create_app\n"
        "from newsletter.accounts import create_account\n"
        "from newsletter.api_tokens import create_token\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    account = create_account({API_ACCOUNT!r}, secrets.token_urlsafe(24),"
        " role='admin', actor='bench')\n"
        "    made = create_token(account, ['subscribers'], name='bench', actor='bench')\n"
        "    print(made.secret)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=cwd, check=True, capture_output=True
    )
    return done.stdout.decode().split()[-1]


def load_average() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def main() -> None:
    args = parse_args()
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    unknown = [r for r in routes if r not in ROUTES]
    if unknown:
        sys.exit(f"unknown routes {unknown}; choose from {', '.join(ROUTES)}")
    database_url = recreate_database(args.postgres, args.database)
    redis.Redis.from_url(args.redis).flushdb()
    port = free_port()
    env = bench_environment(database_url, args.redis, port)
    print(
        f"gunicorn --workers {args.workers} --threads {args.threads}; "
        f"{args.connections} connections, each reopened every {args.reopen_every} requests "
        f"(0: never); {args.warmup:g} s warm-up + {args.duration:g} s "
        f"per route; API Idempotency-Key: {'a new one each' if args.idempotency_keys else 'none'}; "
        f"{os.cpu_count()} CPUs; load average {load_average()} (1, 5, 15 min)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="nl-bench-") as folder:
        cwd = Path(folder)
        prepare_schema(database_url, env, cwd)
        setting = Setting(
            port=port,
            embed_wording=prepare_embed(env, cwd),
            api_token=prepare_api(env, cwd) if "api" in routes else "",
            idempotency_keys=args.idempotency_keys,
        )
        with gunicorn(args, env, port, cwd) as server:
            rows = []
            for route in routes:
                meter = CpuMeter(server.pid)
                # Each worker apart: a worker that got most connections shows as the busy one.
                workers = CpuMeter(server.pid, group=_worker_of(server.pid))
                result = asyncio.run(load_route(route, setting, args))
                rows.append((route, result, meter.cores() | {"workers": workers.cores()}))
    print_table(rows)
    print(f"load average at the end: {load_average()} (1, 5, 15 min)")
    if any(ROUTES[route].compared for route in routes):
        check_signups(database_url, args.redis)
    if not args.keep:
        recreate_database(args.postgres, args.database, drop_only=True)
        redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
