"""A real browser against a live server: Debian's Chromium driven by Playwright.

The live server is the app of the `app` fixture served by werkzeug's threaded server in this
process, with the aiosmtpd sink as its relay and worker threads consuming the queues, so a
journey sends real mail that the test then reads. Running in-process (not `newsletter serve` in
a subprocess) lets a test build rows with the factories and see the same database.

Without Chromium (or Playwright) every browser test is skipped with the reason; under CI
(`CI=true`) that is a failure instead, so CI can never pass by testing nothing.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

from newsletter.extensions import db
from tests.support.smtp import SmtpSink

# CHROMIUM_PATH names another build (and lets a test pretend there is none).
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Long enough for a slow CI machine; a journey that is stuck fails instead of hanging.
TIMEOUT_MS = 20_000


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright or axe-playwright-python missing: pip install -e '.[dev]'"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    return None


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions do
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@dataclass
class LiveServer:
    url: str
    sink: SmtpSink

    def __call__(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.url + path


@pytest.fixture
def live_server(app, smtp_sink, stub_broker, stub_worker) -> Iterator[LiveServer]:
    """The app on a free port, relaying to the sink, with worker threads on its queues."""
    from newsletter.background.broker import EMBEDDED_WORKER

    server = make_server("127.0.0.1", 0, app, threaded=True)
    host = f"127.0.0.1:{server.server_port}"
    # As in production: CSRF tokens on, links in mail pointing at this server.
    app.config.update(BASE_URL=f"http://{host}", SERVER_NAME=host, WTF_CSRF_ENABLED=True)
    app.extensions[EMBEDDED_WORKER] = True  # the admin's "Send now" dispatches to the worker
    # SQLite: the test's open transaction would keep the server's writes waiting.
    db.session.commit()
    db.session.remove()
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(f"http://{host}", smtp_sink)
    server.shutdown()
    server.server_close()
    thread.join(10)
    app.extensions[EMBEDDED_WORKER] = False


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab (own cookies) at desktop width; Playwright waits up to TIMEOUT_MS."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()
