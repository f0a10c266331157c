"""The public archive: sent issues whose lists are all public, and their Atom feed."""

from __future__ import annotations

import sqlalchemy as sa
from feedgen.feed import FeedGenerator
from flask import current_app

from newsletter.compose.render import is_public, web_subject
from newsletter.config import site_title
from newsletter.extensions import db
from newsletter.models import Issue, IssueKind, IssueList, IssueStatus, MailingList
from newsletter.models.base import utcnow
from newsletter.tokens import InvalidTokenError, read_token
from newsletter.urls import external_url

FEED_SIZE = 50
# Signed web-version links of private lists are in inboxes for good: accept them for 20 years.
WEB_VERSION_MAX_AGE = 20 * 365 * 24 * 3600


def _public_sent():
    private_list = (
        sa.select(IssueList.issue_id)
        .join(MailingList, MailingList.id == IssueList.list_id)
        .where(MailingList.is_public.is_(False))
    )
    return sa.select(Issue).where(
        Issue.kind == IssueKind.ISSUE,
        Issue.status == IssueStatus.SENT,
        Issue.id.not_in(private_list),
    )


def archived_issues(limit: int | None = None) -> list[Issue]:
    """Sent issues of public lists, newest first."""
    query = _public_sent().order_by(Issue.finished_at.desc(), Issue.id.desc())
    return list(db.session.scalars(query.limit(limit) if limit else query))


def archived_issue(issue_id: int) -> Issue | None:
    """The issue if it belongs in the public archive, else None."""
    issue = db.session.get(Issue, issue_id)
    if issue is None or issue.kind != IssueKind.ISSUE or issue.status != IssueStatus.SENT:
        return None
    if not is_public(issue):
        return None
    return issue


def issue_of_web_token(token: str) -> Issue | None:
    """The sent issue a signed web-version link names, or None for a bad or altered link."""
    try:
        payload = read_token("web_version", token, WEB_VERSION_MAX_AGE)
    except InvalidTokenError:
        return None
    issue_id = payload.get("i") if isinstance(payload, dict) else None
    issue = db.session.get(Issue, issue_id) if isinstance(issue_id, int) else None
    started = (IssueStatus.SENDING, IssueStatus.PAUSED, IssueStatus.SENT)
    # A welcome message (on or off) has a web version too, by its signed link only.
    kinds = (IssueKind.ISSUE, IssueKind.WELCOME)
    if issue is None or issue.kind not in kinds or issue.status not in started:
        return None
    return issue


def atom_feed() -> bytes:
    """The archive as an Atom feed (newest first)."""
    org_name = current_app.config["ORG_NAME"]
    feed = FeedGenerator()
    feed.id(external_url("public.archive_index"))
    feed.title(site_title(current_app.config))
    feed.author({"name": org_name})
    feed.link(href=external_url("public.archive_index"), rel="alternate")
    feed.link(href=external_url("public.archive_feed"), rel="self")
    feed.language("en-GB")
    issues = archived_issues(FEED_SIZE)
    feed.updated(issues[0].finished_at if issues and issues[0].finished_at else utcnow())
    for issue in reversed(issues):
        entry = feed.add_entry()
        url = external_url("public.archive_issue", issue_id=issue.id)
        entry.id(url)
        entry.title(web_subject(issue))
        entry.link(href=url)
        entry.published(issue.started_at or issue.created_at)
        entry.updated(issue.finished_at or issue.started_at or issue.created_at)
        if issue.preheader:
            entry.summary(issue.preheader)
    return feed.atom_str(pretty=True)
