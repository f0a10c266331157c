"""`newsletter serve` in an empty folder, as a person would run it, then stopped by a signal."""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import time
import urllib.parse
import urllib.request

import pytest

from tests.support.process import clean_env, run_newsletter
from tests.support.serve_process import RunningCommand
from tests.support.servers import free_port

SETUP_LINK = r"http://127\.0\.0\.1:(\d+)/admin/setup/([\w-]{20,})"


@pytest.fixture
def serve(tmp_path):
    started: list[RunningCommand] = []

    def start(*args: str, **env: str) -> RunningCommand:
        sink_port = str(free_port())
        command = RunningCommand(
            "serve", *args, cwd=tmp_path, env=clean_env(SINK_PORT=sink_port, **env)
        )
        started.append(command)
        return command

    yield start
    for command in started:
        command.kill()


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_in_an_empty_folder_runs_everything_and_stops_cleanly(serve, tmp_path, sig):
    """First run: setup link printed, instance created, healthz ok; a signal exits 0 quietly."""
    port = free_port()
    command = serve("--port", str(port))
    link = command.wait_for_line(SETUP_LINK)
    assert link.group(1) == str(port)
    command.wait_for_line(r"/admin/outbox")
    assert get_json(f"http://127.0.0.1:{port}/healthz") == (
        200,
        {"database": "ok", "broker": "ok"},
    )
    urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/setup/{link.group(2)}", timeout=10)
    assert (tmp_path / "instance" / "newsletter.db").is_file()
    assert (tmp_path / "instance" / "secret_key").is_file()
    assert command.interrupt(sig) == 0, command.stderr
    assert "Traceback" not in command.stderr + command.stdout
    request_log = command.stderr.split("one-time link", 1)[1].split("\n", 1)[1]
    assert "GET /admin/setup/[redacted]" in request_log
    assert link.group(2) not in request_log


def test_serve_prints_the_sink_address(serve):
    """Without SMTP_URL the sink's address and the outbox URL are printed."""
    port = free_port()
    command = serve("--port", str(port))
    match = command.wait_for_line(r"Mail sink on 127\.0\.0\.1:(\d+)")
    assert int(match.group(1)) > 0
    assert f"http://127.0.0.1:{port}/admin/outbox" in command.stderr
    assert command.interrupt() == 0


def test_serve_warns_when_base_url_is_http_on_a_public_host(serve):
    """Listening beyond loopback with an http BASE_URL prints a warning."""
    port = free_port()
    command = serve("--host", "0.0.0.0", "--port", str(port))
    command.wait_for_line(SETUP_LINK)
    assert "BASE_URL is plain http on a non-loopback host" in command.stderr
    assert command.interrupt() == 0


def test_serve_on_a_taken_port_exits_1(serve):
    """A port in use stops serve at once with a short message."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        command = serve("--port", str(taken.getsockname()[1]))
        assert command.wait() == 1
    assert "in use" in command.stderr
    assert "Traceback" not in command.stderr


@pytest.mark.redis
def test_serve_with_redis_reports_the_redis_broker(serve, redis_url):
    """With REDIS_URL, serve runs no worker of its own and /healthz pings Redis."""
    port = free_port()
    command = serve("--port", str(port), REDIS_URL=redis_url)
    command.wait_for_line(SETUP_LINK)
    assert get_json(f"http://127.0.0.1:{port}/healthz") == (
        200,
        {"database": "ok", "broker": "ok"},
    )
    assert command.interrupt() == 0, command.stderr
    assert "Traceback" not in command.stderr


def test_serve_records_a_sign_up_in_its_worker_and_mails_the_confirmation(serve, tmp_path):
    """Under `serve` the form queues the sign-up to the in-process worker, which records it
    and sends the confirmation mail to the outbox."""
    created = run_newsletter(
        "lists", "create", "news", "--name", "News", cwd=tmp_path, env=clean_env()
    )
    assert created.returncode == 0, created.stderr
    port = free_port()
    command = serve("--port", str(port))
    command.wait_for_line(r"/admin/outbox")
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    form = browser.open(f"http://127.0.0.1:{port}/subscribe", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    fields = {"csrf_token": token, "email": "ann@example.com", "lists": "news", "website": ""}
    answer = browser.open(
        f"http://127.0.0.1:{port}/subscribe", urllib.parse.urlencode(fields).encode(), timeout=10
    )
    assert "Check your email" in answer.read().decode()
    database = sqlite3.connect(tmp_path / "instance" / "newsletter.db")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mailed = database.execute("SELECT recipients, subject FROM outbox_message").fetchall()
        if mailed:
            break
        time.sleep(0.1)
    pending = database.execute(
        "SELECT status FROM subscription JOIN subscriber ON subscriber.id = subscriber_id "
        "WHERE email = 'ann@example.com'"
    ).fetchall()
    database.close()
    assert mailed and "ann@example.com" in mailed[0][0]
    assert pending == [("pending",)]
    assert command.interrupt() == 0, command.stderr


def test_serve_names_no_software_version_in_its_server_header(serve):
    """Werkzeug's own header (`Werkzeug/3.x Python/3.x`) would tell which advisories to try."""
    port = free_port()
    command = serve("--port", str(port))
    command.wait_for_line(SETUP_LINK)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/subscribe", timeout=10) as response:
        server = response.headers["Server"]
        assert response.headers["Cache-Control"] == "no-store"
    assert command.interrupt() == 0
    assert server == "newsletter"
