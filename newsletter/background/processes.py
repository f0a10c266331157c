"""Running the pieces of the system in one process: `newsletter serve` and `newsletter worker`."""

from __future__ import annotations

import logging
import multiprocessing
import re
import signal
import threading
from collections.abc import Callable
from contextlib import ExitStack
from ipaddress import ip_address

import click
import dramatiq
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from newsletter import create_app
from newsletter.accounts import issue_setup_token
from newsletter.background.broker import (
    EMBEDDED_WORKER,
    declare_actors,
    is_in_process,
    make_broker,
    use_broker,
)
from newsletter.background.periodic import PeriodicRunner
from newsletter.mail.sink import SERVE_SINK_PORT, ensure_sink, stop_sink

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


# Path segments that look like tokens (setup, confirm and preference links): 20+ URL-safe chars.
_TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_.=-]{20,}")


class RedactTokens(logging.Filter):
    """Keeps the tokens of one-time and subscriber links out of the request log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_SEGMENT.sub("/[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class AnonymousRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, whose `Server` header names no software or version.

    Werkzeug's says `Werkzeug/3.x Python/3.x`, which tells a visitor which advisories to try.
    (gunicorn's says `gunicorn` without a version; see README, "Running in production".)
    """

    def version_string(self) -> str:
        return "newsletter"


def configure_logging() -> None:
    """Log lines to stderr, one per event."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").addFilter(RedactTokens())
    # aiosmtpd logs every SMTP command at INFO, envelope addresses included.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class StopSignals:
    """While entered, SIGINT and SIGTERM ask for a clean stop instead of ending the process."""

    def __enter__(self) -> StopSignals:
        self._stop = threading.Event()
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def _handle(self, signum, frame) -> None:
        self._stop.set()

    def wait(self, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Block until a stop signal arrives or `keep_going()` turns false."""
        # Waking twice a second lets the handler run promptly and `keep_going` be polled.
        while not self._stop.wait(0.5) and keep_going():
            pass

    def __exit__(self, *exc_info) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _say(text: str) -> None:
    click.echo(text, err=True)


def start_worker(broker: dramatiq.Broker, threads: int, stack: ExitStack) -> dramatiq.Worker:
    broker.emit_after("process_boot")
    stack.callback(broker.close)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    stack.callback(worker.stop)
    return worker


def start_periodic_runner(app: Flask, stack: ExitStack) -> PeriodicRunner:
    runner = PeriodicRunner(app)
    runner.start()
    stack.callback(runner.stop)
    return runner


def start_mail_sink(app: Flask, stack: ExitStack, port: int = 0) -> str | None:
    """Start this process's sink when SMTP_URL is unset; returns its address."""
    if app.config.get("SMTP_URL"):
        return None
    sink = ensure_sink(app, port=port)
    stack.callback(stop_sink)
    return sink.address


def start_broker(app: Flask, stack: ExitStack) -> None:
    """The app's broker; an in-process one gets worker threads here, Redis's workers run apart."""
    broker = use_broker(app, make_broker(app))
    if not is_in_process(broker):
        stack.callback(broker.close)
        return
    declare_actors(broker)
    start_worker(broker, int(app.config["WORKER_THREADS"]), stack)
    app.extensions[EMBEDDED_WORKER] = True
    # Registered last, so it runs first: /healthz stops saying ok before the worker stops.
    stack.callback(app.extensions.__setitem__, EMBEDDED_WORKER, False)


def announce(app: Flask, local_url: str, sink_address: str | None) -> None:
    """Tell the person at the terminal where to go: the setup link, the sink and the outbox."""
    _say(f"Newsletter is running at {local_url}/admin (Ctrl-C to stop)")
    with app.app_context():
        token = issue_setup_token()
    if token is not None:
        link = f"{local_url}/admin/setup/{token}"
        _say(f"Create the first admin account with this one-time link: {link}")
    if sink_address is not None:
        _say(f"Mail sink on {sink_address}: captured mail is at {local_url}/admin/outbox")


def serve(app: Flask, host: str, port: int) -> None:
    """Run the web app, the mail sink, the worker and the periodic runner until a stop signal."""
    configure_logging()
    # Bind first: a taken port stops us (werkzeug says why) before anything else starts.
    server = make_server(host, port, app, threaded=True, request_handler=AnonymousRequestHandler)
    local_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    local_url = f"http://{local_host}:{server.server_port}"
    if not app.config.get("BASE_URL"):
        app.config["BASE_URL"] = f"http://{host}:{server.server_port}"
    if app.config["BASE_URL"].startswith("http://") and not is_loopback(host):
        _say(
            "Warning: BASE_URL is plain http on a non-loopback host; links in mail will not be "
            "encrypted. Set BASE_URL to an https:// address."
        )
    with StopSignals() as stop_signals, ExitStack() as stack:
        stack.callback(server.server_close)
        sink_port = int(app.config.get("SINK_PORT") or SERVE_SINK_PORT)
        sink_address = start_mail_sink(app, stack, port=sink_port)
        start_broker(app, stack)
        start_periodic_runner(app, stack)
        threading.Thread(target=server.serve_forever, name="http-server", daemon=True).start()
        stack.callback(server.shutdown)
        announce(app, local_url, sink_address)
        stop_signals.wait()
        _say("Stopping…")


def run_worker_process(threads: int) -> None:
    """One worker process: Redis broker, Dramatiq worker threads and a periodic runner."""
    # Signals first: a stop asked for during start-up is honoured once start-up is done.
    with StopSignals() as stop_signals, ExitStack() as stack:
        configure_logging()
        app = create_app()
        # `newsletter worker` refuses to start without REDIS_URL, so this is the Redis broker.
        broker = declare_actors(use_broker(app, make_broker(app)))
        start_mail_sink(app, stack)
        start_worker(broker, threads, stack)
        start_periodic_runner(app, stack)
        logger.info("worker process ready with %s threads", threads)
        stop_signals.wait()


def run_workers(processes: int, threads: int) -> int:
    """Run worker processes until a stop signal; returns the exit status."""
    if processes <= 1:
        run_worker_process(threads)
        return 0
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=run_worker_process, args=(threads,), name=f"worker-{n}")
        for n in range(processes)
    ]
    with StopSignals() as stop_signals:
        for child in children:
            child.start()
        # A child that dies on its own takes the others down: a supervisor restarts us whole.
        stop_signals.wait(keep_going=lambda: all(c.is_alive() for c in children))
        for child in children:
            if child.is_alive():
                child.terminate()
        for child in children:
            child.join()
    return 1 if any(child.exitcode for child in children) else 0
