"""Rate limits of the admin: how often one account may have test messages sent.

One budget per account, shared by an issue's test send and the outbox's test message, counted
only when a test was actually queued (a form sent back with an error costs nothing).
"""

from __future__ import annotations

import time

from flask import Response, current_app, make_response, render_template
from flask_login import current_user

from newsletter.extensions import limiter

TOO_MANY_TESTS = (
    "You have sent too many test messages for now. Wait {wait}, then try again; the limit "
    "keeps a test from becoming a way to flood an inbox."
)


def per_account_tests() -> str:
    return current_app.config["TEST_SEND_RATE_PER_ACCOUNT"]


def sender_key() -> str:
    """The limiter key of the signed-in account asking for a test."""
    return f"test-send:{current_user.id}"


def _wait(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def _too_many_tests(request_limit) -> Response:
    """A 429 page saying how long to wait, instead of a bare error."""
    seconds = max(1, int(request_limit.reset_at - time.time()))
    message = TOO_MANY_TESTS.format(wait=_wait(seconds))
    response = make_response(render_template("errors/429.html", message=message), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _queued(response: Response) -> bool:
    return response.status_code < 400


test_sends_limited = limiter.shared_limit(
    per_account_tests,
    scope="test-send",
    key_func=sender_key,
    methods=["POST"],
    deduct_when=_queued,
    on_breach=_too_many_tests,
)
