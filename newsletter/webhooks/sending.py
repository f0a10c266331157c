"""One HTTP POST per delivery, signed per Standard Webhooks, over a pooled connection.

The pool (urllib3's `PoolManager`, one per process, shared by the worker's threads) keeps
connections to each endpoint alive between batches. Redirects are not followed and the client
does not retry on its own: a 2xx is delivered, anything else is a failed attempt that
dispatch.py schedules again. Only the status code of an answer is kept, never its body.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime

import urllib3
from standardwebhooks.webhooks import Webhook

USER_AGENT = "newsletter-webhooks/1"
_POOL_LOCK = threading.Lock()
_POOLS: dict[float, urllib3.PoolManager] = {}


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: the HTTP status, or why there was none."""

    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unreachable(self) -> bool:
        """No answer at all: the rest of a batch would only wait for the same time-out."""
        return self.status is None


def pool(timeout: float) -> urllib3.PoolManager:
    """The process's pool for this time-out."""
    with _POOL_LOCK:
        manager = _POOLS.get(timeout)
        if manager is None:
            manager = _POOLS[timeout] = urllib3.PoolManager(
                num_pools=50,
                maxsize=16,
                block=False,
                retries=False,
                timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            )
        return manager


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, plus the content type."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def post(
    manager: urllib3.PoolManager, url: str, secret: str, message_id: str, at: datetime, body: bytes
) -> Attempt:
    """POST one signed event; what came of it."""
    headers = signed_headers(secret, message_id, at, body)
    try:
        response = manager.request(
            "POST", url, body=body, headers=headers, redirect=False, preload_content=False
        )
    except urllib3.exceptions.HTTPError as error:
        return Attempt(None, _describe(error))
    try:
        # Read (and drop) the body so the connection goes back to the pool for the next one.
        response.drain_conn()
    except urllib3.exceptions.HTTPError:
        pass
    finally:
        response.release_conn()
    status = response.status
    return Attempt(status, None if 200 <= status < 300 else f"the endpoint answered {status}")


def _describe(error: Exception) -> str:
    # NewConnectionError is a ConnectTimeoutError too in urllib3 2: asked first.
    if isinstance(
        error, urllib3.exceptions.NewConnectionError | urllib3.exceptions.NameResolutionError
    ):
        return "could not connect to the endpoint"
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return "the endpoint did not answer in time"
    if isinstance(error, urllib3.exceptions.SSLError):
        return "the TLS handshake with the endpoint failed"
    return "the connection to the endpoint failed"
