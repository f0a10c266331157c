"""Benchmark: the admin's subscriber search at 1,000,000 subscribers on PostgreSQL.

    python bench/subscribers_search.py [--rows 1000000] [--repeat 20]
        [--postgres postgresql://postgres@127.0.0.1:5432] [--database newsletter_bench_search]
        [--keep] [--only TEXT]

Drops and recreates the throwaway database `--database`, builds the schema with the real
migrations, and loads the subscribers by COPY (addresses over 6,000 domains, a few big and a
long tail; names from 400 first names and 600 surnames), then builds the trigram index and
ANALYZEs, as a migration over a populated table would. Each person is on some of three lists
(`news` 90 %, `members` 30 %, `events` 5 %; confirmed 85 %, pending 5 %, unsubscribed 10 % of
subscriptions) and 1 % are suppressed. Then it runs representative searches, each `--repeat`
times after one warm-up, three ways:

- `query`: `audience.find_subscribers`, the page's query (SQLAlchemy Core, one SELECT of people
  by text, list and status, in the chosen order, keyset-paged, LIMIT 51);
- `count`: `audience.count_subscribers`, the page's count (exact for list and status filters,
  capped at 1,000 for a text search);
- `page`: GET /admin/subscribers?… through Flask's test client, signed in, template included
  (query, count, the page's statuses and suppression, and the template).

Searches: a whole address, part of a local part, a domain (few and many matches), a big
provider (a third of everyone), a surname, part of a surname, a first and last name, a term
matching nobody, and the pages after the first (keyset `after=`) of broad ones, all newest
first (the page's default); then the filters: everyone in each order, a list in each order, a
list and a status, a status on any list, a rare status, a search within a list and status.
Before them, the send confirmation: the count of an issue to `news` and `members`
(`ledger.planned_recipients`) and its page, then the ledger the real send writes, counted, to
check the two agree. `--only TEXT` runs only the cases whose label contains TEXT (the send
confirmation always runs). It prints the p50 and p95 of each case and of all of them, and the
load average before and after (the machine may be shared). The database is dropped at the end
unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BIG = ["gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com", "hotmail.co.uk"]
TLDS = ["org", "org.uk", "gov.uk", "ac.uk", "com", "net", "co.uk", "nhs.uk", "eu"]
PASSWORD = "bench password 123"
# Each list and the share of everyone on it; the statuses of subscriptions and their weights.
LISTS = [("news", 0.9), ("members", 0.3), ("events", 0.05)]
STATUSES = ["confirmed", "pending", "unsubscribed"]
STATUS_WEIGHTS = [85, 5, 10]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="newsletter_bench_search")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--only", default="", help="run only the cases whose label has this")
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

    from newsletter import suppression
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
        columns = "email, email_key, key_hash, name, attributes, unsubscribe_token, " \
                  "created_via, created_at, updated_at"  # fmt: skip
        hash_key = suppression.hasher()
        with connection.cursor().copy(f"COPY subscriber ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                first, last = rng.choice(firsts), rng.choice(lasts)
                email = f"{first}.{last}{i}@{picked[i]}".lower()
                if i == rows // 2:
                    sample = {"email": email, "first": first, "last": last}
                token = f"t{i:x}-{rng.getrandbits(64):x}"
                when = "2025-01-01T00:00:00Z"
                copy.write_row(
                    (email, email, hash_key(email), f"{first} {last}", "{}", token, "import",
                     when, when)
                )  # fmt: skip
        first_id = connection.execute("SELECT min(id) FROM subscriber").fetchone()[0]
        list_ids = {}
        for slug, _share in LISTS:
            list_ids[slug] = connection.execute(
                "INSERT INTO mailing_list (slug, name, description, is_public, double_opt_in, "
                "list_id_label, created_at, updated_at) VALUES (%s, %s, '', true, true, %s, "
                "now(), now()) RETURNING id",
                (slug, slug.capitalize(), f"{slug}.bench.example"),
            ).fetchone()[0]
        columns = "subscriber_id, list_id, status, opt_in_level, requested_via, created_at, " \
                  "updated_at"  # fmt: skip
        when = "2025-01-01T00:00:00Z"
        with connection.cursor().copy(f"COPY subscription ({columns}) FROM STDIN") as copy:
            for i in range(rows):
                for slug, share in LISTS:
                    if rng.random() < share:
                        status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
                        level = "confirmed" if status != "pending" else "unknown"
                        row = (first_id + i, list_ids[slug], status, level, "import", when, when)
                        copy.write_row(row)
        keys = connection.execute("SELECT email_key FROM subscriber WHERE id % 100 = 7").fetchall()
        with connection.cursor().copy(
            "COPY suppression_entry (key_hash, created_at) FROM STDIN"
        ) as copy:
            for (key,) in keys:
                copy.write_row((hash_key(key), when))
        connection.execute(
            "INSERT INTO suppression_entry_reason (entry_id, reason, given_at, note) "
            "SELECT id, 'hard_bounce', created_at, '' FROM suppression_entry"
        )
        # The subscribers page's display flag (suppression.sync_flags), as migration 0021
        # backfills it, before VACUUM ANALYZE so the counts read only the indexes.
        connection.execute(
            "UPDATE subscriber SET suppressed = true WHERE key_hash IN ("
            "SELECT e.key_hash FROM suppression_entry e JOIN suppression_entry_reason r"
            " ON r.entry_id = e.id WHERE r.lifted_at IS NULL)"
        )
        loaded = time.perf_counter()
        connection.execute(
            "CREATE INDEX ix_subscriber_search_trgm ON subscriber "
            "USING gin ((email_key || ' ' || lower(name)) gin_trgm_ops)"
        )
        # What autovacuum does to a loaded table soon after: statistics and the visibility map
        # (which lets the counts read only the indexes).
        connection.commit()
        connection.autocommit = True
        for table in (
            "subscriber",
            "subscription",
            "suppression_entry",
            "suppression_entry_reason",
        ):
            connection.execute(f"VACUUM ANALYZE {table}")
        indexed = time.perf_counter()
    print(
        f"loaded {rows:,} subscribers, their subscriptions and suppressions by COPY in "
        f"{loaded - started:.1f} s; trigram index and VACUUM ANALYZE in {indexed - loaded:.1f} s",
        flush=True,
    )
    return sample


def searches(sample: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Each case: a label and the page's query-string arguments (besides `after`)."""
    local = sample["email"].split("@")[0]
    texts = [
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
    filters: list[tuple[str, dict[str, str]]] = [
        ("everyone, newest first", {}),
        ("everyone, oldest first", {"sort": "oldest"}),
        ("everyone, by address", {"sort": "address"}),
        ("list news, newest first", {"list": "news"}),
        ("list members, oldest first", {"list": "members", "sort": "oldest"}),
        ("list members, by address", {"list": "members", "sort": "address"}),
        ("list events, confirmed", {"list": "events", "status": "confirmed"}),
        ("list news, pending, by address",
         {"list": "news", "status": "pending", "sort": "address"}),
        ("status unsubscribed, any list", {"status": "unsubscribed"}),
        ("status pending, any list, oldest", {"status": "pending", "sort": "oldest"}),
        ("big provider on members, confirmed",
         {"q": "gmail", "list": "members", "status": "confirmed"}),
        ("surname on events", {"q": sample["last"], "list": "events"}),
        ("suppressed, newest first", {"status": "suppressed"}),
        ("suppressed on news, oldest first", {"list": "news", "status": "suppressed",
                                              "sort": "oldest"}),
        ("suppressed on members, by address", {"list": "members", "status": "suppressed",
                                               "sort": "address"}),
        ("suppressed on events", {"list": "events", "status": "suppressed"}),
        ("big provider, suppressed", {"q": "gmail", "status": "suppressed"}),
    ]  # fmt: skip
    return [(label, {"q": term}) for label, term in texts] + filters


def filters_of(args: dict[str, str], lists: dict[str, int]):
    from newsletter.models import SubscriptionStatus
    from newsletter.subscriptions.audience import Filters, Sort

    status = args.get("status")
    return Filters(
        term=args.get("q", ""),
        list_id=lists[args["list"]] if "list" in args else None,
        status=SubscriptionStatus(status) if status and status != "suppressed" else None,
        sort=Sort(args.get("sort", "newest")),
        suppressed=status == "suppressed",
    )


def confirmation_count(client, repeat: int) -> None:
    """The send confirmation's count of an issue to `news` and `members`, then the real ledger.

    `planned_recipients` is the count the page shows; the page is GET /admin/issues/<id>/send.
    The ledger is then written (send_issue without dispatch) and its rows counted: the two
    numbers must be equal.
    """
    from newsletter.compose.issues import create_issue
    from newsletter.delivery.control import send_issue
    from newsletter.delivery.ledger import planned_recipients
    from newsletter.extensions import db
    from newsletter.models import Delivery

    issue = create_issue("Bench news", "Hello.\n", ["news", "members"], actor="bench")
    counts = timed(lambda: planned_recipients(issue), repeat)
    pages = timed(lambda: client.get(f"/admin/issues/{issue.id}/send"), repeat)
    db.session.rollback()
    planned = planned_recipients(issue).recipients
    started = time.perf_counter()
    written = send_issue(issue, "bench", dispatch=False)
    wrote = time.perf_counter() - started
    rows = db.session.scalar(
        sa.select(sa.func.count()).select_from(Delivery).where(Delivery.issue_id == issue.id)
    )
    print(f"send confirmation of an issue to news and members ({planned:,} recipients):")
    report("count (planned_recipients)", counts)
    report("page (GET …/send)", pages)
    print(
        f"  ledger written by the send: {written:,} rows ({rows:,} counted) in {wrote:.1f} s; "
        f"{'equal' if planned == written == rows else 'NOT EQUAL'} to the page's count",
        flush=True,
    )
    db.session.execute(sa.delete(Delivery).where(Delivery.issue_id == issue.id))
    db.session.commit()


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
    if not samples:  # no case of this kind ran (--only)
        return
    print(f"  {label:<34} p50 {statistics.median(samples):7.1f} ms   p95 {p95(samples):7.1f} ms")


def main() -> None:
    args_ = parse_args()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    url = recreate_database(args_.postgres, args_.database)
    from newsletter import create_app
    from newsletter.accounts import create_account
    from newsletter.config import load_config
    from newsletter.extensions import db
    from newsletter.models import MailingList
    from newsletter.models.schema import upgrade_schema
    from newsletter.subscriptions.audience import count_subscribers, find_subscribers

    config = load_config({"DATABASE_URL": url, "SECRET_KEY": "bench", "SUPPRESSION_KEY": "bench"})
    config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, SERVER_NAME="localhost")
    app = create_app(config)
    upgrade_schema(app)
    with app.app_context():
        sample = load(app, args_.rows)
        create_account("bench@example.org", PASSWORD, role="admin", actor="bench")
        client = app.test_client()
        client.post("/admin/login", data={"email": "bench@example.org", "password": PASSWORD})
        lists = dict(db.session.execute(sa.select(MailingList.slug, MailingList.id)).all())
        everything: dict[str, list[float]] = {"query": [], "count": [], "page": []}
        # The text searches alone, without list or status: the target's original cases.
        texts: dict[str, list[float]] = {"query": [], "count": [], "page": []}
        confirmation_count(client, args_.repeat)
        for label, args in searches(sample):
            if args_.only not in label:
                continue
            filters = filters_of(args, lists)
            page = find_subscribers(filters)
            cases = [(label, None)]
            if page.next_after:
                second = find_subscribers(filters, page.next_after)
                cases.append((f"{label}, page 2", page.next_after))
                if second.next_after:
                    cases.append((f"{label}, page 3", second.next_after))
            for case, after in cases:
                query = timed(lambda f=filters, a=after: find_subscribers(f, a), args_.repeat)
                counts = timed(lambda f=filters: count_subscribers(f), args_.repeat)
                path = "/admin/subscribers?" + urlencode(
                    {**args, **({"after": after} if after else {})}
                )
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                pages = timed(lambda p=path: client.get(p), args_.repeat)
                db.session.rollback()
                shown = len(find_subscribers(filters, after).rows)
                counted = count_subscribers(filters)
                total = f"{'more than ' if counted.more else ''}{counted.n:,}"
                print(f"{case} ({shown} shown of {total}):", flush=True)
                for name, samples in (("query", query), ("count", counts), ("page", pages)):
                    report(name, samples)
                    everything[name] += samples
                    if set(args) == {"q"}:
                        texts[name] += samples
        print("text searches alone:")
        for name, samples in texts.items():
            report(name, samples)
        print("all cases:")
        for name, samples in everything.items():
            report(name, samples)
        db.engine.dispose()
    if not args_.keep:
        recreate_database(args_.postgres, args_.database, create=False)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
