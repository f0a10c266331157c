"""gunicorn, as README's "Run it in production" runs the app, over a real socket."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.process import clean_env
from tests.support.servers import free_port


def gunicorn_executable() -> str:
    found = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    if not Path(found).exists():
        pytest.fail("gunicorn is not installed (it is in requirements.lock)")
    return found


def first_response(url: str, process: subprocess.Popen) -> urllib.response.addinfourl:
    deadline = time.monotonic() + 60
    while True:
        try:
            return urllib.request.urlopen(url, timeout=10)
        except urllib.error.HTTPError as error:
            return error
        except OSError:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.2)


def test_gunicorn_names_no_version_and_the_app_adds_hsts(app, tmp_path):
    """`Server: gunicorn` without a version; with an https BASE_URL every answer has HSTS."""
    port = free_port()
    env = clean_env(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        SUPPRESSION_KEY=app.config["SUPPRESSION_KEY"],
        BASE_URL="https://news.example.org",
    )
    process = subprocess.Popen(
        [gunicorn_executable(), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "newsletter:create_app()"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        response = first_response(f"http://127.0.0.1:{port}/subscribe", process)
        headers = response.headers
        response.close()
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert response.status == 200
    assert headers["Server"] == "gunicorn"
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert headers["Cache-Control"] == "no-store"
