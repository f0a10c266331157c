"""Benchmark: the admin's subscriber search at 1,000,000 subscribers on PostgreSQL.

    python bench/subscribers_search.py [--rows 1000000] [--repeat 20]
        [--postgres postgresql://postgres@127.0.0.1:5432] [--database newsletter_bench_search]
        [--keep]

Drops and recreates the throwaway database `--database`, builds the schema with the real
migrations, and loads the subscribers by COPY (addresses over 6,000 domains, a few big and a
long tail; names from 400 first names and 600 surnames), then builds the trigram index and
ANALYZEs, as a migration over a populated table would. Then it runs representative searches,
each `--repeat` times after one warm-up, two ways:

- `query`: `audience.search_subscribers`, the function the page calls (SQLAlchemy Core, one
  SELECT ... WHERE (email_key || ' ' || lower(name)) LIKE … ORDER BY id LIMIT 51);
- `page`: GET /admin/subscribers?q=… through Flask's test client, signed in, template included.

Searches: a whole address, part of a local part, a domain (few and many matches), a big
provider (a third of everyone), a surname, part of a surname, a first and last name, a term
matching nobody, and the pages after the first (keyset `after=`) of broad ones. It prints the
p50 and p95 of each search and of all of them, and the load average before and after (the
machine may be shared). The database is dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BIG = ["gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com", "hotmail.co.uk"]
TLDS = ["org", "org.uk", "gov.uk", "ac.uk", "com", "net", "co.uk", "nhs.uk", "eu"]
PASSWORD = "bench password 123"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="newsletter_bench_search")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


def name_parts(rng: random.Random) -> tuple[list[str], list[str]]:
    syllables = "an bel cor da el fi gar ho is jo ka li mo na or pe qui ro sa ta u vi wen ya"
    syllables = syllables.split()

    def word(n: int) -> str:
        return "".join(rng.choice(syllables) for _ in range(n)).capitalize()

    firsts = sorted({word(rng.randint(2, 3)) for _ in range(600)})[:400]
    lasts = sorted({word(rng.randint(2, 4)) for _ in range(1200)})[:600]
    return firsts, lasts


def recreate_database(server: str, name: str, create: bool = True) -> str:
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


def load(app, rows: int) -> dict[str, str]:
    """COPY the subscribers in; returns names of people to search for."""
    import psycopg

    from newsletter.extensions import db

    rng = random.Random(20261127)
    firsts, lasts = name_parts(rng)
    tail = [f"{rng.choice(['council', 'trust', 'group', 'mail', 'co'])}{i}.{TLDS[i % 9]}"
            for i in range(6000 - len(BIG))]  # fmt: skip
    domains = BIG + tail
    weights = [10.0] * 5 + [1.0 / (1 + i / 500) for i in range(len(tail))]
    picked = rng.choices(domains, weights=weights, k=rows)
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    sample: dict[str, str] = {}
    started = time.perf_counter()
    with psycopg.connect(url) as connection:
        connection.execute("DROP INDEX ix_subscriber_search_trgm")
        columns = "email, email_key, name, attributes, unsubscribe_token, created_via, " \
                  "created_at, updated_at"  # fmt: skip
        with connection.cursor().copy(f"COPY subscriber ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                first, last = rng.choice(firsts), rng.choice(lasts)
                email = f"{first}.{last}{i}@{picked[i]}".lower()
                if i == rows // 2:
                    sample = {"email": email, "first": first, "last": last}
                token = f"t{i:x}-{rng.getrandbits(64):x}"
                when = "2025-01-01T00:00:00Z"
                copy.write_row((email, email, f"{first} {last}", "{}", token, "import", when, when))
        loaded = time.perf_counter()
        connection.execute(
            "CREATE INDEX ix_subscriber_search_trgm ON subscriber "
            "USING gin ((email_key || ' ' || lower(name)) gin_trgm_ops)"
        )
        connection.execute("ANALYZE subscriber")
        indexed = time.perf_counter()
    print(
        f"loaded {rows:,} subscribers by COPY in {loaded - started:.1f} s; trigram index and "
        f"ANALYZE in {indexed - loaded:.1f} s",
        flush=True,
    )
    return sample


def searches(sample: dict[str, str]) -> list[tuple[str, str]]:
    local = sample["email"].split("@")[0]
    return [
        ("whole address", sample["email"]),
        ("part of a local part", local[2:-2]),
        ("small domain", "@council4321."),
        ("mid domain", "@group12"),
        ("big provider", "gmail"),
        ("surname", sample["last"]),
        ("part of a surname", sample["last"][1:5]),
        ("first and last name", f"{sample['first']} {sample['last']}"),
        ("no match", "zzqxj"),
    ]


def timed(function, repeat: int) -> list[float]:
    function()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def report(label: str, samples: list[float]) -> None:
    print(f"  {label:<34} p50 {statistics.median(samples):7.1f} ms   p95 {p95(samples):7.1f} ms")


def main() -> None:
    args = parse_args()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    url = recreate_database(args.postgres, args.database)
    from newsletter import create_app
    from newsletter.accounts import create_account
    from newsletter.config import load_config
    from newsletter.extensions import db
    from newsletter.models.schema import upgrade_schema
    from newsletter.subscriptions.audience import search_subscribers

    config = load_config({"DATABASE_URL": url, "SECRET_KEY": "bench", "SUPPRESSION_KEY": "bench"})
    config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, SERVER_NAME="localhost")
    app = create_app(config)
    upgrade_schema(app)
    with app.app_context():
        sample = load(app, args.rows)
        create_account("bench@example.org", PASSWORD, role="admin", actor="bench")
        client = app.test_client()
        client.post("/admin/login", data={"email": "bench@example.org", "password": PASSWORD})
        everything = {"query": [], "page": []}
        for label, term in searches(sample):
            page = search_subscribers(term)
            cases = [(label, term, None)]
            if page.next_after:
                second = search_subscribers(term, page.next_after)
                cases.append((f"{label}, page 2", term, page.next_after))
                if second.next_after:
                    cases.append((f"{label}, page 3", term, second.next_after))
            for case, text, after in cases:
                query = timed(lambda t=text, a=after: search_subscribers(t, a), args.repeat)
                path = f"/admin/subscribers?q={text}" + (f"&after={after}" if after else "")
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                pages = timed(lambda p=path: client.get(p), args.repeat)
                db.session.rollback()
                print(f"{case} ({len(search_subscribers(text, after).rows)} shown):", flush=True)
                report("query", query)
                report("page", pages)
                everything["query"] += query
                everything["page"] += pages
        print("all searches:")
        report("query", everything["query"])
        report("page", everything["page"])
        db.engine.dispose()
    if not args.keep:
        recreate_database(args.postgres, args.database, create=False)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
