"""`Idempotency-Key` on a POST: a retry with the same key and body gets the stored answer and
does nothing again; the same key with another request is refused (422). Kept a day, per token.

Only successful answers are kept: an error changed nothing, so a retry is simply tried again.
A secret an answer shows once (a webhook's signing secret) is kept as null: the replay says
what was made, and no second copy of the secret is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Response, make_response, request
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.models import ApiIdempotencyKey
from newsletter.models.base import utcnow
from newsletter.web.api.auth import current_token
from newsletter.web.api.problems import fail

KEEP = timedelta(hours=24)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _request_hash() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        fail(422, f"{HEADER}: Use 1 to {MAX_KEY_LENGTH} printable characters.")
    return key


def _stored(token_id: int, key: str) -> ApiIdempotencyKey | None:
    return db.session.scalar(
        sa.select(ApiIdempotencyKey).where(
            ApiIdempotencyKey.token_id == token_id,
            ApiIdempotencyKey.key == key,
            ApiIdempotencyKey.created_at > utcnow() - KEEP,
        )
    )


def _kept_body(response: Response, shown_once: tuple[str, ...]) -> str:
    body = response.get_data(as_text=True)
    if not shown_once:
        return body
    document = json.loads(body)
    for field in shown_once:
        if field in document:
            document[field] = None
    return json.dumps(document, ensure_ascii=False)


def _keep(
    token_id: int, key: str, request_hash: str, response: Response, shown_once: tuple[str, ...]
) -> None:
    db.session.execute(
        sa.delete(ApiIdempotencyKey).where(
            ApiIdempotencyKey.token_id == token_id, ApiIdempotencyKey.created_at <= utcnow() - KEEP
        )
    )
    db.session.add(
        ApiIdempotencyKey(
            token_id=token_id,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            content_type=response.content_type or "application/json",
            body=_kept_body(response, shown_once),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same key arrived twice at once; the first to finish keeps its answer.
        db.session.rollback()


def idempotent(view: Callable, shown_once: tuple[str, ...] = ()) -> Callable:
    """Replay the stored answer of a POST retried with the same key and body; the answer's
    `shown_once` fields are replayed as null."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _key() if request.method == "POST" else None
        if key is None:
            return view(*args, **kwargs)
        token_id, request_hash = current_token().id, _request_hash()
        stored = _stored(token_id, key)
        if stored is not None:
            if stored.request_hash != request_hash:
                fail(422, f"This {HEADER} was used with another request; use a new key.")
            replay = Response(stored.body, status=stored.status_code)
            replay.headers["Content-Type"] = stored.content_type
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        response = make_response(view(*args, **kwargs))
        if response.status_code < 400:
            _keep(token_id, key, request_hash, response, shown_once)
        return response

    return wrapper
