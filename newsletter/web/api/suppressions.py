"""/api/v1/suppressions: the suppression list (entries hold no address), add, lift (admins)."""

from __future__ import annotations

from flask import request

from newsletter.consent import reason_words
from newsletter.errors import NotFoundError
from newsletter.extensions import db
from newsletter.models import SuppressionEntry
from newsletter.suppression import manual
from newsletter.web.api.auth import Needs, current_account
from newsletter.web.api.blueprint import bp
from newsletter.web.api.cursors import decode_cursor, encode_cursor
from newsletter.web.api.operations import operation
from newsletter.web.api.schemas import (
    Lifted,
    LiftIn,
    PageQuery,
    SuppressionAdded,
    SuppressionIn,
    SuppressionPage,
)

TAGS = ("suppressions",)


def entry_body(entry: SuppressionEntry) -> dict:
    return {
        "id": entry.id,
        "created_at": entry.created_at,
        "reasons": [reason_words(r) for r in entry.active_reasons],
    }


@bp.get("/suppressions")
@operation("read", ok=("HTTP_200", SuppressionPage), query=PageQuery, tags=TAGS, not_found=False)
def api_suppressions():
    """Entries newest first, with their standing reasons in words (no address is kept)."""
    query: PageQuery = request.context.query  # type: ignore[attr-defined]
    entries, older = manual.recent_entries(decode_cursor(query.cursor), query.limit)
    return {"items": [entry_body(e) for e in entries], "next_cursor": encode_cursor(older)}


@bp.post("/suppressions")
@operation(
    "subscribers", Needs.ADMIN, ok=("HTTP_200", SuppressionAdded), json=SuppressionIn,
    tags=TAGS, not_found=False,
)  # fmt: skip
def api_add_suppressions():
    """Suppress addresses by hand (reason `manual`); admins only."""
    body: SuppressionIn = request.context.json  # type: ignore[attr-defined]
    result = manual.add_addresses(list(body.emails), body.note, actor=current_account())
    return {"added": result.added, "already": result.already}


@bp.post("/suppressions/<int:entry_id>/lift")
@operation("subscribers", Needs.ADMIN, ok=("HTTP_200", Lifted), json=LiftIn, tags=TAGS)
def api_lift_suppression(entry_id: int):
    """Lift every reason an admin may lift, with the reason why; the person must opt in again."""
    if db.session.get(SuppressionEntry, entry_id) is None:
        raise NotFoundError(f"no suppression entry with the id {entry_id}")
    body: LiftIn = request.context.json  # type: ignore[attr-defined]
    return {"lifted": manual.remove_entry(entry_id, body.reason, current_account())}
