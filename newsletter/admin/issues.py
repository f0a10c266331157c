"""Admin pages: issues, with live progress and the pause, resume and cancel buttons."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user

from newsletter import issues, lists
from newsletter.admin import bp
from newsletter.admin.forms import IssueForm
from newsletter.errors import NewsletterError, NotFoundError
from newsletter.forms import show_error
from newsletter.models.base import utcnow


def _issue_or_404(issue_id: int):
    try:
        return issues.get_issue(issue_id)
    except NotFoundError:
        abort(404)


def _actor():
    return current_user._get_current_object()


@bp.get("/issues")
def issues_index():
    return render_template("admin/issues.html", issues=issues.all_issues())


@bp.route("/issues/new", methods=["GET", "POST"])
def issues_new():
    form = IssueForm()
    all_lists = lists.all_lists()
    form.lists.choices = [(ml.slug, ml.name) for ml in all_lists]
    if form.validate_on_submit():
        try:
            issue = issues.create_issue(
                form.subject.data, form.body.data, list(form.lists.data), actor=_actor()
            )
        except NewsletterError as error:
            show_error(form.lists, str(error))
        else:
            flash(f"Created the draft issue “{issue.subject}”.", "success")
            return redirect(url_for("admin.issues_show", issue_id=issue.id))
    status = 422 if form.errors else 200
    return render_template("admin/issues_form.html", form=form, lists=all_lists), status


@bp.get("/issues/<int:issue_id>")
def issues_show(issue_id: int):
    issue = _issue_or_404(issue_id)
    return render_template("admin/issue_show.html", issue=issue, progress=progress_view(issue))


@bp.get("/issues/<int:issue_id>/progress.json")
def issues_progress(issue_id: int):
    """What the progress bar polls: counts, remaining, rate and ETA."""
    return jsonify(progress_view(_issue_or_404(issue_id)))


def progress_view(issue) -> dict[str, object]:
    counts = issues.progress(issue)
    done = counts.final
    rate = eta = None
    if issue.started_at is not None and done:
        elapsed = ((issue.finished_at or utcnow()) - issue.started_at).total_seconds()
        rate = round(done / elapsed, 1) if elapsed > 0 else None
        if rate and counts.open:
            eta = round(counts.open / rate)
    return counts.as_dict() | {
        "done": done,
        "remaining": counts.open,
        "rate": rate,
        "eta_seconds": eta,
        "pause_reason": issue.pause_reason,
    }


def _control(issue_id: int, action: str):
    issue = _issue_or_404(issue_id)
    try:
        if action == "send":
            count = issues.send_issue(issue, _actor(), dispatch=issues.can_dispatch())
            flash(f"Sending to {count} recipients.", "success")
        elif action == "resume":
            issues.resume(issue, _actor(), dispatch=issues.can_dispatch())
            flash("Sending again.", "success")
        elif action == "pause":
            issues.pause(issue, _actor())
            flash("Paused. Nothing more is sent until you resume.", "success")
        else:
            issues.cancel(issue, _actor())
            flash("Cancelled. Nothing more of this issue is sent.", "success")
    except NewsletterError as error:
        flash(str(error)[:1].upper() + str(error)[1:], "error")
    return redirect(url_for("admin.issues_show", issue_id=issue_id))


@bp.post("/issues/<int:issue_id>/send")
def issues_send(issue_id: int):
    return _control(issue_id, "send")


@bp.post("/issues/<int:issue_id>/pause")
def issues_pause(issue_id: int):
    return _control(issue_id, "pause")


@bp.post("/issues/<int:issue_id>/resume")
def issues_resume(issue_id: int):
    return _control(issue_id, "resume")


@bp.post("/issues/<int:issue_id>/cancel")
def issues_cancel(issue_id: int):
    return _control(issue_id, "cancel")
