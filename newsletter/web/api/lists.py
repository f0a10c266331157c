"""GET /api/v1/lists and /api/v1/lists/<slug>: the lists and their subscriptions by state."""

from __future__ import annotations

from newsletter.lists import ListCounts, get_list, list_counts, lists_with_counts
from newsletter.web.api.blueprint import bp
from newsletter.web.api.operations import operation
from newsletter.web.api.schemas import ListOut, ListPage


def list_body(counts: ListCounts) -> dict:
    ml = counts.mailing_list
    return {
        "slug": ml.slug,
        "name": ml.name,
        "description": ml.description,
        "public": ml.is_public,
        "double_opt_in": ml.double_opt_in,
        "subscriptions": {
            "pending": counts.pending,
            "confirmed": counts.confirmed,
            "unsubscribed": counts.unsubscribed,
        },
    }


@bp.get("/lists")
@operation("read", ok=("HTTP_200", ListPage), tags=("lists",), not_found=False)
def api_lists():
    """Every list, by name, with its subscriptions counted by state (one page: lists are few)."""
    return {"items": [list_body(c) for c in lists_with_counts()], "next_cursor": None}


@bp.get("/lists/<slug:slug>")
@operation("read", ok=("HTTP_200", ListOut), tags=("lists",))
def api_list(slug: str):
    """One list."""
    return list_body(list_counts(get_list(slug)))
