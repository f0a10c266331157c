"""Benchmark: `newsletter import` of a 1,000,000-row Mailchimp export into PostgreSQL.

    python bench/import.py [--rows 1000000] [--postgres postgresql://postgres@127.0.0.1:5432]
                           [--database newsletter_bench_import] [--repeat 1] [--no-floor]
                           [--no-schema-floor] [--schema-breakdown]

Generates a Mailchimp "subscribed" export (the columns of a real one) in a temporary folder:
5% of the rows have an invalid address and 5% repeat an earlier row's address in another
case, and the addresses spread over 6,000 domains (a few big, a long tail, as a real list's
are). It drops and recreates the database `--database`, runs `newsletter db upgrade`, creates
a list, and runs the real console script `newsletter import FILE --list bench` in a child
process: the wall time of that process gives rows per second, and its peak RSS is read from
the kernel (getrusage of the child).

The floor, measured in the same run on the same rows: `validate_email` over every address in
one process, then a PostgreSQL COPY of the same rows (email, name, evidence) into a plain
table. The import does much more than that (de-duplication, lookups, subscribers,
subscriptions and consent events, job checkpoints), so beating the floor takes both cores and
validating each domain only once.

The schema floor, also in the same run: the rows the import wrote to `subscriber`,
`subscription` and `consent_event` are copied out, the tables emptied, and the same rows
COPYed back in, one table at a time, timing the PostgreSQL backend's CPU (from /proc: the
server must run on this machine) and wall time. That is the least the database itself can
spend storing those people with the schema's indexes, foreign keys and the trigram search
index, with no Python at all, and it is set against the CPU two cores have in the time a
40,000 rows/s import may take. `--schema-breakdown` repeats it without the trigram index and
then without the foreign keys as well, to show what each costs.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

HEADER = [
    "Email Address",
    "First Name",
    "Last Name",
    "Address",
    "Phone Number",
    "MEMBER_RATING",
    "OPTIN_TIME",
    "OPTIN_IP",
    "CONFIRM_TIME",
    "CONFIRM_IP",
    "LATITUDE",
    "LONGITUDE",
    "GMTOFF",
    "DSTOFF",
    "TIMEZONE",
    "CC",
    "REGION",
    "LAST_CHANGED",
    "LEID",
    "EUID",
    "NOTES",
    "TAGS",
]
FIRST = ["Ada", "Bob", "Chloé", "Dev", "Eun-ji", "Farah", "Gustav", "Hana", "Iñigo", "Jo"]
LAST = ["Lovelace", "Okafor", "Nguyễn", "Smith", "Kowalski", "O'Brien", "García", "Ito"]
# Addresses are ASCII as nearly all real ones are; the names keep their accents.
ASCII = str.maketrans({"é": "e", "ñ": "n", "ễ": "e", "í": "i", "'": ""})
SUMMARY = "imported "


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--domains", type=int, default=6000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="newsletter_bench_import")
    parser.add_argument("--repeat", type=int, default=1, help="import runs (fresh database each)")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    parser.add_argument("--keep", type=Path, help="also write the generated CSV here")
    parser.add_argument(
        "--no-schema-floor", action="store_true", help="skip the schema floor measurement"
    )
    parser.add_argument(
        "--schema-breakdown",
        action="store_true",
        help="also measure the schema floor without the trigram index, then without foreign keys",
    )
    return parser.parse_args()


def domains(count: int, rng: random.Random) -> list[str]:
    big = ["gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com", "hotmail.co.uk"]
    tlds = ["org", "org.uk", "gov.uk", "ac.uk", "com", "net", "co.uk", "nhs.uk", "eu"]
    tail = [
        f"{rng.choice(['council', 'trust', 'group', 'mail', 'co'])}{i}.{tlds[i % 9]}"
        for i in range(count - len(big))
    ]
    return big + tail


def generate(path: Path, rows: int, domain_count: int) -> list[str]:
    """Write the export; return the address cells (for the floor)."""
    rng = random.Random(20261127)
    names = domains(domain_count, rng)
    # Half the people at the five big providers, the rest spread over the long tail.
    weights = [10.0] * 5 + [1.0 / (1 + i / 500) for i in range(len(names) - 5)]
    addresses: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        picked = rng.choices(names, weights=weights, k=rows)
        for i in range(rows):
            roll = rng.random()
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if roll < 0.05:
                local = f"{first}{i}".translate(ASCII)
                email = rng.choice(
                    [
                        f"{local}@",
                        f"{local} x@{picked[i]}",
                        f"{local}@{picked[i]}..",
                        f"{local}.example",
                    ]
                )
            elif roll < 0.10 and i > 100:
                email = addresses[rng.randrange(i // 2)].upper()
                if "@" not in email or email.count("@") != 1:
                    email = f"{first}.{last}.{i}@{picked[i]}".lower().translate(ASCII)
            else:
                email = f"{first}.{last}.{i}@{picked[i]}".lower().translate(ASCII)
            addresses.append(email)
            optin = f"20{rng.randint(15, 24)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 10:22:11"
            confirmed = rng.random() < 0.7
            writer.writerow(
                [
                    email,
                    first,
                    last,
                    "",
                    "",
                    rng.randint(1, 5),
                    optin,
                    "192.0.2.1",
                    optin if confirmed else "",
                    "192.0.2.1" if confirmed else "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "GB",
                    "",
                    optin,
                    rng.randint(10**8, 10**9),
                    f"{i:x}",
                    "",
                    "",
                ]
            )
    return addresses


def recreate_database(server: str, name: str) -> str:
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["newsletter", *args], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )


def measure_import(csv_path: Path, server: str, name: str, work: Path) -> dict:
    url = recreate_database(server, name)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "SUPPRESSION_KEY": "bench"}
    env.pop("REDIS_URL", None)
    run(["db", "upgrade"], env, work)
    run(["lists", "create", "bench", "--name", "Bench"], env, work)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        ["newsletter", "import", str(csv_path), "--list", "bench"],
        env=env,
        cwd=work,
        stdout=subprocess.PIPE,
        text=True,
    )
    sampler = TreeRss(process.pid, url)
    sampler.start()
    output, _ = process.communicate()
    elapsed = time.perf_counter() - started
    sampler.stop()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        sys.exit(f"import failed with status {process.returncode}")
    summary = [line for line in output.splitlines() if line.startswith(SUMMARY)][-1]
    cpu = (usage.ru_utime + usage.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "seconds": elapsed,
        # The largest single process (the import or its reader child), from the kernel.
        "rss_mb": usage.ru_maxrss / 1024,
        "tree_rss_mb": sampler.peak / 2**20,
        "cpu": cpu,
        "cpu_parts": sampler.cpu_parts(),
        "summary": summary,
        "url": url,
    }


class TreeRss(threading.Thread):
    """Samples the memory of a process and its children every 100 ms (needs psutil), and the
    CPU time each of them and each PostgreSQL backend serving the import's database has used.

    PSS, not RSS: the forked reader shares the parent's pages until it writes to them, and
    summing RSS would count those twice. CPU is the last sample of each process (a process
    that ends loses at most its last 100 ms)."""

    def __init__(self, pid: int, url: str) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.database = url.rsplit("/", 1)[1]
        self.peak = 0
        self.cpu: dict[tuple[str, int], float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(self.pid)
            while not self._done.wait(0.1):
                tree = [root, *root.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_full_info().pss for p in tree))
                for process in tree:
                    role = "import" if process.pid == self.pid else "reader"
                    self._note(role, process)
                for process in psutil.process_iter(["cmdline"]):
                    if any(self.database in part for part in process.info["cmdline"] or []):
                        self._note("postgres", process)
        except psutil.Error:
            return

    def _note(self, role: str, process) -> None:
        try:
            times = process.cpu_times()
        except Exception:  # it ended between the listing and now
            return
        self.cpu[(role, process.pid)] = times.user + times.system

    def cpu_parts(self) -> dict[str, float]:
        parts: dict[str, float] = {}
        for (role, _), seconds in self.cpu.items():
            parts[role] = parts.get(role, 0.0) + seconds
        return parts

    def stop(self) -> None:
        self._done.set()
        self.join()


def measure_floor(addresses: list[str], url: str) -> dict:
    from email_validator import EmailNotValidError, validate_email

    started = time.perf_counter()
    valid = []
    for address in addresses:
        try:
            valid.append(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError:
            valid.append(None)
    validated = time.perf_counter() - started
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_copy (email text, name text, "
            "optin_time text, optin_ip text, detail text)"
        )
        cursor.execute("TRUNCATE bench_copy")
        started = time.perf_counter()
        with cursor.copy("COPY bench_copy FROM STDIN") as copy:
            for address, normalised in zip(addresses, valid, strict=True):
                copy.write_row(
                    (
                        normalised or address,
                        "Ada Lovelace",
                        "2019-03-04 10:22:11",
                        "192.0.2.1",
                        '{"line": 1}',
                    )
                )
        connection.commit()
        copied = time.perf_counter() - started
    return {"validate": validated, "copy": copied}


SCHEMA_TABLES = ("subscriber", "subscription", "consent_event")
TARGET_ROWS_PER_SECOND = 40_000


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds a local PostgreSQL backend has used, or None if it is not on this machine."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_schema_floor(url: str, work: Path, breakdown: bool) -> list[tuple[str, dict]]:
    """COPY the import's own rows back into the emptied tables: the database's share alone."""
    dumps = {table: work / f"{table}.copy" for table in SCHEMA_TABLES}
    with psycopg.connect(url, autocommit=True) as connection:
        for table, path in dumps.items():
            with (
                path.open("wb") as out,
                connection.cursor().copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy,
            ):
                for data in copy:
                    out.write(data)
        results = [("full schema", _reload(connection, dumps))]
        if breakdown:
            connection.execute("DROP INDEX IF EXISTS ix_subscriber_search_trgm")
            results.append(("without the trigram index", _reload(connection, dumps)))
            _drop_foreign_keys(connection)
            results.append(("without it and without foreign keys", _reload(connection, dumps)))
    for path in dumps.values():
        path.unlink()
    return results


def _drop_foreign_keys(connection: psycopg.Connection) -> None:
    names = connection.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
        [list(SCHEMA_TABLES)],
    ).fetchall()
    for table, name in names:
        connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


def _reload(connection: psycopg.Connection, dumps: dict[str, Path]) -> dict:
    connection.execute(f"TRUNCATE {', '.join(SCHEMA_TABLES)}, import_reject CASCADE")
    connection.execute("CHECKPOINT")  # every run starts from the same WAL position
    pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    figures = {}
    for table, path in dumps.items():
        cpu_before, started = _backend_cpu(pid), time.perf_counter()
        with (
            connection.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy,
            path.open("rb") as source,
        ):
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        cpu_after = _backend_cpu(pid)
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        rows = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        figures[table] = {"wall": time.perf_counter() - started, "cpu": cpu, "rows": rows}
    return figures


def report_schema_floor(results: list[tuple[str, dict]], rows: int) -> None:
    budget_seconds = rows / TARGET_ROWS_PER_SECOND
    cores = os.cpu_count() or 1
    budget_cpu = budget_seconds * cores
    for label, figures in results:
        parts = ", ".join(
            f"{table} {f['rows']:,} rows {f['cpu'] if f['cpu'] is not None else f['wall']:.1f} s"
            for table, f in figures.items()
        )
        measured = "CPU" if all(f["cpu"] is not None for f in figures.values()) else "wall"
        total = sum(f["cpu"] if f["cpu"] is not None else f["wall"] for f in figures.values())
        print(
            f"schema floor, {label}: PostgreSQL {measured} {total:.1f} s ({parts}); "
            f"{total / budget_cpu:.0%} of the {budget_cpu:.0f} CPU-seconds {cores} cores have "
            f"in the {budget_seconds:.1f} s a {TARGET_ROWS_PER_SECOND:,} rows/s import may take",
            flush=True,
        )


def main() -> None:
    args = parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="nl-bench-import-") as folder:
        work = Path(folder)
        csv_path = args.keep or work / "subscribed_members_export.csv"
        started = time.perf_counter()
        addresses = generate(csv_path, args.rows, args.domains)
        size = csv_path.stat().st_size / 1e6
        distinct = len({a.rpartition("@")[2].lower() for a in addresses})
        print(
            f"generated {args.rows:,} rows ({size:.0f} MB, {distinct:,} "
            f"distinct domain parts) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        result = {}
        for attempt in range(1, args.repeat + 1):
            result = measure_import(csv_path, args.postgres, args.database, work)
            rate = args.rows / result["seconds"]
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(result["cpu_parts"].items()))
            print(
                f"import run {attempt}: {result['seconds']:.1f} s, {rate:,.0f} rows/s, "
                f"peak RSS {result['rss_mb']:.0f} MB (largest process; "
                f"{result['tree_rss_mb']:.0f} MB PSS of import and reader together), "
                f"CPU {result['cpu']:.1f} s ({parts}); {result['summary']}",
                flush=True,
            )
        if not args.no_floor:
            floor = measure_floor(addresses, result["url"])
            total = floor["validate"] + floor["copy"]
            print(
                f"floor: validate_email {floor['validate']:.1f} s + COPY {floor['copy']:.1f} s "
                f"= {total:.1f} s, {args.rows / total:,.0f} rows/s",
                flush=True,
            )
        if not args.no_schema_floor and result:
            results = measure_schema_floor(result["url"], work, args.schema_breakdown)
            report_schema_floor(results, args.rows)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
