"""Admin pages: the audit log (admins only), newest first, paged by id."""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.params import to_id

PAGE_SIZE = 50


def audit_events(before: int | None = None, limit: int = PAGE_SIZE):
    """Up to `limit` events older than id `before`, newest first, and the id to page on from.

    Keyset paging (id < before) keeps every page as cheap as the first, however long the log.
    """
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(db.session.scalars(query))
    older = events[limit - 1].id if len(events) > limit else None
    return events[:limit], older


@bp.get("/audit")
@admin_required
def audit_index():
    before = request.args.get("before", type=to_id)
    events, older = audit_events(before)
    return render_template("admin/audit.html", events=events, older=older, paged=before)
