"""/api/v1/issues: write a draft, preview it, send or schedule it, and follow its progress,
through the functions the admin's issue pages call."""

from __future__ import annotations

from flask import request

from newsletter.compose import issues
from newsletter.compose.render import render_issue
from newsletter.delivery import control, scheduling
from newsletter.models import Issue
from newsletter.web.api.auth import Needs, current_account
from newsletter.web.api.blueprint import bp
from newsletter.web.api.lookups import named_lists
from newsletter.web.api.operations import operation
from newsletter.web.api.schemas import IssueIn, IssueOut, IssuePreview, IssueStatusOut, ScheduleIn

TAGS = ("issues",)


def issue_body(issue: Issue) -> dict:
    return {
        "id": issue.id,
        "subject": issue.subject,
        "status": issue.status.value,
        "lists": [link.mailing_list.slug for link in issue.issue_lists],
        "created_at": issue.created_at,
        "scheduled_at": issue.scheduled_at,
        "started_at": issue.started_at,
    }


@bp.post("/issues")
@operation("send", ok=("HTTP_201", IssueOut), json=IssueIn, tags=TAGS, not_found=False)
def api_create_issue():
    """Write a draft issue (any account may, as in the admin)."""
    body: IssueIn = request.context.json  # type: ignore[attr-defined]
    slugs = [ml.slug for ml in named_lists(body.lists)]
    issue = issues.create_issue(
        body.subject, body.body_markdown, slugs, current_account(),
        preheader=body.preheader, layout=body.layout,
    )  # fmt: skip
    return issue_body(issue), 201


@bp.get("/issues/<int:issue_id>")
@operation("read", ok=("HTTP_200", IssueOut), tags=TAGS)
def api_issue(issue_id: int):
    """One issue and its state."""
    return issue_body(issues.get_issue(issue_id))


@bp.get("/issues/<int:issue_id>/preview")
@operation("read", ok=("HTTP_200", IssuePreview), tags=TAGS)
def api_preview_issue(issue_id: int):
    """The issue rendered as it is mailed: subject, HTML and text parts."""
    rendered = render_issue(issues.get_issue(issue_id))
    return {
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
        "size_warning": rendered.too_big,
    }


@bp.post("/issues/<int:issue_id>/send")
@operation("send", Needs.SEND, ok=("HTTP_202", IssueStatusOut), tags=TAGS, conflict=True)
def api_send_issue(issue_id: int):
    """Send a draft now (the right to send: admins, and editors if an admin allows it)."""
    issue = issues.get_issue(issue_id)
    control.send_issue(issue, current_account(), dispatch=control.can_dispatch())
    return control.progress(issue).as_dict(), 202


@bp.post("/issues/<int:issue_id>/schedule")
@operation("send", Needs.SEND, ok=("HTTP_200", IssueOut), json=ScheduleIn, tags=TAGS, conflict=True)
def api_schedule_issue(issue_id: int):
    """Have the issue start by itself at a time in the future."""
    issue = issues.get_issue(issue_id)
    body: ScheduleIn = request.context.json  # type: ignore[attr-defined]
    scheduling.schedule_issue(issue, body.at, actor=current_account())
    return issue_body(issue)


@bp.get("/issues/<int:issue_id>/status")
@operation("read", ok=("HTTP_200", IssueStatusOut), tags=TAGS)
def api_issue_status(issue_id: int):
    """Counts by delivery state, as `newsletter issues status ID --json` prints them."""
    return control.progress(issues.get_issue(issue_id)).as_dict()
