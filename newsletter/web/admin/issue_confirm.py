"""Admin pages: the check before an issue is sent or scheduled.

"Send now" and "Schedule" on an issue's page lead here first (GET shows, changes nothing); the
button on this page (POST, to the route in issues.py) sends or schedules. The page counts the
recipients with the delivery engine's own selection (`ledger.planned_recipients`), so the
number shown is the number the ledger gets, and shows the subject as the first of them gets it.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from newsletter.compose import issues
from newsletter.compose.times import uk_to_utc
from newsletter.delivery.ledger import planned_recipients
from newsletter.errors import ValidationError
from newsletter.models import IssueKind
from newsletter.models.base import utcnow
from newsletter.web.admin.access import send_permission_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ScheduleForm
from newsletter.web.admin.issue_preview import preview_message
from newsletter.web.admin.issues import _issue_or_404, issue_page, nobody_would_get_it
from newsletter.web.forms import show_error


def _sendable(issue) -> bool:
    """A draft or scheduled newsletter; anything else goes back to its page, saying why."""
    if issue.kind == IssueKind.ISSUE and issue.status in issues.EDITABLE:
        return True
    flash(f"This issue is {issue.status.value}: it cannot be sent or scheduled now.", "error")
    return False


def _confirmation(issue, action: str, when=None, schedule_form=None):
    plan = planned_recipients(issue)
    message = preview_message(issue, plan.first)
    return render_template(
        "admin/issue_confirm.html",
        issue=issue,
        action=action,
        recipients=plan.recipients,
        nobody=nobody_would_get_it(issue, plan.recipients),
        subject=str(message["Subject"]),
        when=when,
        schedule_form=schedule_form,
    )


@bp.get("/issues/<int:issue_id>/send")
@send_permission_required
def issues_send_confirm(issue_id: int):
    issue = _issue_or_404(issue_id)
    if not _sendable(issue):
        return redirect(url_for("admin.issues_show", issue_id=issue.id))
    return _confirmation(issue, "send")


@bp.get("/issues/<int:issue_id>/schedule")
@send_permission_required
def issues_schedule_confirm(issue_id: int):
    """The date and time come from the issue page's form (GET); a bad one shows it again."""
    issue = _issue_or_404(issue_id)
    if not _sendable(issue):
        return redirect(url_for("admin.issues_show", issue_id=issue.id))
    form = ScheduleForm(formdata=request.args, meta={"csrf": False})
    if form.validate():
        try:
            when = uk_to_utc(form.date.data, form.time.data)
            if when <= utcnow():
                raise ValidationError("Choose a time in the future")
        except ValidationError as error:
            show_error(form.time if "time" in str(error) else form.date, str(error))
        else:
            return _confirmation(issue, "schedule", when=when, schedule_form=form)
    return issue_page(issue, schedule_form=form, status=422)
