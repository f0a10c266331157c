"""Benchmark: does the time of one POST /subscribe tell what state the address is in?

    python bench/signup_states.py [--requests 600] [--pool 200] [--warmup 100]
                                  [--workers 2] [--threads 4]

Set up as bench/signup.py (gunicorn on PostgreSQL and Redis; the same options for the servers,
the database and the Redis index): it drops and recreates the database, runs `newsletter db
upgrade`, creates the public list, and then gives `--pool` addresses each of the five states
a sign-up can meet: new (never seen), pending (asked, not confirmed), confirmed, unsubscribed
(left the list) and suppressed (a hard bounce, then erased: only the suppression entry is
left). Every address has the same length, so every answer has the same size. Both sign-up
limits are lifted (every request comes from 127.0.0.1 and repeats addresses) but still
counted.

One client connection then sends `--requests` sign-ups per state, one at a time, the states
shuffled together, each to an address of its state's pool picked at random (a new address
is a fresh one each time), after `--warmup` uncounted ones. No worker runs, so every queued
sign-up waits in Redis and every address keeps its state for the whole run. The table gives
each state's quartiles (and 90th percentile) of the response time; below it, how often an
attacker who times one request tells each state from new: the threshold that best separates
the two on half of the requests, scored on the other half (50 % is chance).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Connection
from signup import (
    FORM_HEADERS,
    HOST,
    LIST_SLUG,
    _is_check_email_page,
    add_server_options,
    bench_environment,
    free_port,
    gunicorn,
    prepare_schema,
    recreate_database,
    signup_form,
)

STATES = ("new", "pending", "confirmed", "unsubscribed", "suppressed")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600, help="timed sign-ups per state")
    parser.add_argument("--pool", type=int, default=200, help="addresses per state")
    parser.add_argument("--warmup", type=int, default=100, help="uncounted sign-ups first")
    add_server_options(parser)
    parser.add_argument("--keep", action="store_true", help="keep the database and Redis data")
    return parser.parse_args()


def address(state: str, n: int) -> str:
    """The n-th address of a state's pool; all of one length."""
    return f"{state[:3]}-{n:05d}@example.org"


def seed_states(env: dict[str, str], pool: int, cwd: Path) -> None:
    """Give `pool` addresses each the pending, confirmed, unsubscribed and suppressed states,
    through the app's own functions, on the benchmark's database."""
    saved = dict(os.environ)
    os.environ.update(env)
    here = Path.cwd()
    os.chdir(cwd)
    try:
        from newsletter import create_app, suppression
        from newsletter.addresses import parse_address
        from newsletter.consent import Origin
        from newsletter.extensions import db
        from newsletter.models import (
            ConsentMethod,
            MailingList,
            OptInLevel,
            Subscriber,
            Subscription,
            SubscriptionStatus,
            SuppressionReason,
        )
        from newsletter.subscriptions.signup import request_subscription
        from newsletter.subscriptions.unsubscribe import unsubscribe

        app = create_app()
        with app.app_context():
            mailing_list = db.session.query(MailingList).filter_by(slug=LIST_SLUG).one()
            origin = Origin(source="bench")
            for n in range(pool):
                request_subscription(
                    parse_address(address("pending", n)), "", [mailing_list], origin, "bench"
                )
                for state in ("confirmed", "unsubscribed"):
                    parsed = parse_address(address(state, n))
                    person = Subscriber(
                        email=parsed.email,
                        email_key=parsed.key,
                        key_hash=suppression.address_hash(parsed.key),
                        name="",
                    )
                    db.session.add(person)
                    db.session.add(
                        Subscription(
                            subscriber=person,
                            list_id=mailing_list.id,
                            status=SubscriptionStatus.CONFIRMED,
                            opt_in_level=OptInLevel.CONFIRMED,
                        )
                    )
                    if state == "unsubscribed":
                        db.session.flush()
                        unsubscribe(person, ConsentMethod.ONE_CLICK, origin)
                suppressed = parse_address(address("suppressed", n))
                suppression.suppress(suppressed.key, SuppressionReason.HARD_BOUNCE)
                db.session.commit()
            db.engine.dispose()
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


async def measure(port: int, args: argparse.Namespace) -> dict[str, list[float]]:
    """Time sign-ups of every state, interleaved at random on one connection."""
    connection = Connection(HOST, port)
    response = await connection.request("GET", "/subscribe", {})
    token = response.body.split(b'name="csrf_token" value="', 1)[1].split(b'"', 1)[0].decode()
    headers = {**FORM_HEADERS, "Cookie": response.headers["set-cookie"].split(";", 1)[0]}
    rng = random.Random(16)
    order = [state for state in STATES for _ in range(args.requests)]
    rng.shuffle(order)
    warmup = [rng.choice(STATES) for _ in range(args.warmup)]
    times: dict[str, list[float]] = {state: [] for state in STATES}
    clock = time.perf_counter
    fresh = iter(range(10**5))
    for n, state in enumerate(warmup + order):
        # A new address is never used twice: the old in-request design made it pending.
        index = next(fresh) if state == "new" else rng.randrange(args.pool)
        body = urlencode(signup_form(token, address(state, index))).encode()
        began = clock()
        response = await connection.request("POST", "/subscribe", headers, body)
        took = clock() - began
        if not _is_check_email_page(response):
            sys.exit(f"sign-up answered {response.status}, not the check-your-email page")
        if n >= len(warmup):
            times[state].append(took)
    connection.close()
    return times


def tells_apart(a: list[float], b: list[float]) -> float:
    """How often one request's time tells state a from state b: the best threshold on the
    even-numbered requests of each, scored on the odd-numbered ones (balanced accuracy)."""
    train_a, test_a, train_b, test_b = a[::2], a[1::2], b[::2], b[1::2]

    def score(threshold: float, a_faster: bool, xs: list[float], ys: list[float]) -> float:
        right_a = sum((x < threshold) == a_faster for x in xs) / len(xs)
        right_b = sum((y < threshold) != a_faster for y in ys) / len(ys)
        return (right_a + right_b) / 2

    candidates = sorted(train_a + train_b)
    best = max(
        ((t, faster) for t in candidates for faster in (True, False)),
        key=lambda choice: score(*choice, train_a, train_b),
    )
    return score(*best, test_a, test_b)


def print_table(times: dict[str, list[float]]) -> None:
    print(f"{'state':<14} {'requests':>8} {'p25 ms':>7} {'median':>7} {'p75 ms':>7} {'p90 ms':>7}")
    for state, taken in times.items():
        q = [t * 1e3 for t in statistics.quantiles(taken, n=20)]
        median = statistics.median(taken) * 1e3
        print(
            f"{state:<14} {len(taken):>8} {q[4]:>7.2f} {median:>7.2f} {q[14]:>7.2f} {q[17]:>7.2f}"
        )
    for state in ("suppressed", "pending", "confirmed", "unsubscribed"):
        print(
            f"one request tells {state} from new: "
            f"{tells_apart(times[state], times['new']):.0%} (chance: 50%)"
        )


def main() -> None:
    args = parse_args()
    database_url = recreate_database(args.postgres, args.database)
    redis.Redis.from_url(args.redis).flushdb()
    port = free_port()
    env = bench_environment(database_url, args.redis, port)
    env["SIGNUP_RATE_PER_ADDRESS"] = "100000000 per hour"
    print(
        f"gunicorn --workers {args.workers} --threads {args.threads}; one connection; "
        f"{args.requests} sign-ups per state after {args.warmup} uncounted; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="nl-bench-") as folder:
        cwd = Path(folder)
        prepare_schema(database_url, env, cwd)
        seed_states(env, args.pool, cwd)
        with gunicorn(args, env, port, cwd):
            times = asyncio.run(measure(port, args))
    print_table(times)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if not args.keep:
        recreate_database(args.postgres, args.database, drop_only=True)
        redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
