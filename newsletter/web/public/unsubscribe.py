"""Leaving by the unsubscribe link: the page behind the footer's link and RFC 8058 one-click."""

from __future__ import annotations

from flask import render_template, request

import newsletter.subscriptions.unsubscribe as leaving
from newsletter.consent import Origin
from newsletter.extensions import csrf, db
from newsletter.models import ConsentMethod, Issue
from newsletter.subscriptions.links import preferences_token
from newsletter.subscriptions.people import active_lists
from newsletter.web.public.blueprint import bp

ONE_CLICK_BODY = "One-Click"


def _issue_list_ids(issue_id: int | None) -> set[int] | None:
    """The lists of the issue a link came in, or None (every list) for the plain link."""
    if issue_id is None:
        return None
    issue = db.session.get(Issue, issue_id)
    # A link naming an issue that is gone still unsubscribes: from everything.
    return {link.list_id for link in issue.issue_lists} if issue is not None else None


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@bp.route(
    "/unsubscribe/<token>/<int:issue_id>", methods=["GET", "POST"], endpoint="unsubscribe_issue"
)
@csrf.exempt  # RFC 8058: mail clients POST with no cookie and no token; the URL is the secret.
def unsubscribe(token: str, issue_id: int | None = None):
    """GET (and HEAD) shows a button and changes nothing (link scanners prefetch); POST leaves.

    The link in an issue leaves every list of that issue the person is on: one issue may go
    to several lists, and the person asked to stop getting it.
    """
    subscriber = leaving.find_by_unsubscribe_token(token)
    if subscriber is None:
        # Mangled, or the person was erased: a page that says so, still changing nothing.
        return render_template("public/unsubscribe_invalid.html"), 404
    list_ids = _issue_list_ids(issue_id)
    if request.method != "POST":
        lists = active_lists(subscriber)
        return render_template(
            "public/unsubscribe.html",
            lists=[ml for ml in lists if list_ids is None or ml.id in list_ids],
            preferences_token=preferences_token(subscriber),
        )
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK_BODY
    method = ConsentMethod.ONE_CLICK if one_click else ConsentMethod.UNSUBSCRIBE_PAGE
    # The issue's number (not the token) goes with the evidence: "from the issue 'Spring …'".
    detail = {"issue_id": issue_id} if issue_id is not None else None
    left = leaving.unsubscribe(subscriber, method, Origin.from_request(), list_ids, detail)
    # Always 200, never a redirect: some mail clients treat a redirect as failure.
    return render_template(
        "public/unsubscribed.html",
        left=left,
        preferences_token=preferences_token(subscriber),
    )
