"""The public archive of sent issues, its Atom feed, and signed web versions of private ones."""

from __future__ import annotations

from flask import Response, abort, render_template

from newsletter.compose import archive
from newsletter.compose.render import render_issue, web_subject
from newsletter.web.headers import web_version_view
from newsletter.web.public.blueprint import bp


@bp.get("/archive")
def archive_index():
    issues = archive.archived_issues()
    return render_template(
        "public/archive.html", entries=[(issue, web_subject(issue)) for issue in issues]
    )


@bp.get("/archive/<int:issue_id>")
@web_version_view
def archive_issue(issue_id: int):
    issue = archive.archived_issue(issue_id)
    if issue is None:
        abort(404)
    return Response(render_issue(issue, web=True).html, mimetype="text/html")


@bp.get("/archive/feed.xml")
def archive_feed():
    return Response(archive.atom_feed(), mimetype="application/atom+xml")


@bp.get("/web/<token>")
@web_version_view
def web_version(token: str):
    """The web version of an issue to a private list: only with the signed link in the mail."""
    issue = archive.issue_of_web_token(token)
    if issue is None:
        abort(404)
    response = Response(render_issue(issue, web=True).html, mimetype="text/html")
    response.headers["X-Robots-Tag"] = "noindex"
    return response
