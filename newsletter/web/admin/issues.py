"""Admin pages: issues — write, edit, schedule, send, with live progress and the controls."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from newsletter import lists
from newsletter.compose import issues
from newsletter.compose.placeholders import PLACEHOLDERS
from newsletter.compose.render import SIZE_WARNING_BYTES, render_issue, sample_subject
from newsletter.compose.times import DATE_HINT, TIME_HINT, uk_to_utc
from newsletter.delivery import control, failures, scheduling
from newsletter.delivery.ledger import has_recipients, outcome_counts
from newsletter.errors import NewsletterError, NotFoundError, ValidationError
from newsletter.models import IssueKind
from newsletter.models.base import utcnow
from newsletter.web.admin.access import admin_required, send_permission_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import IssueForm, ScheduleForm, SendPermissionForm, TestSendForm
from newsletter.web.forms import sentence, show_error


def _issue_or_404(issue_id: int):
    try:
        return issues.get_issue(issue_id)
    except NotFoundError:
        abort(404)


def _actor():
    return current_user._get_current_object()


def nobody_would_get_it(issue, recipients: int | None = None) -> str | None:
    """The sentence saying nobody would get this draft now, or None when somebody would.

    Judged with the delivery engine's own selection, as the confirmation page counts: a send
    or schedule to nobody would only archive the issue with nobody mailed, so it is refused.
    Given the page's count, that is used; otherwise one mailable person is looked for, which
    at a million people is immediate where counting them all is not.
    """
    if issue.status not in issues.EDITABLE:
        return None
    if recipients if recipients is not None else has_recipients(issue):
        return None
    lists_have = "the list has" if len(issue.lists) == 1 else "the lists have"
    return (
        f"Nobody would get this issue: {lists_have} no confirmed subscribers "
        "who are not suppressed."
    )


def size_warning(issue) -> str | None:
    """A warning when the issue's HTML passes Gmail's clipping size, else None."""
    size = render_issue(issue).html_bytes
    if size <= SIZE_WARNING_BYTES:
        return None
    return (
        f"The email is {size // 1024} KB of HTML. Gmail clips messages over about 100 KB and "
        "hides the rest, footer and unsubscribe link included, behind a link: shorten it."
    )


@bp.get("/issues")
def issues_index():
    form = SendPermissionForm(editors_may_send=issues.editors_may_send())
    all_issues = issues.all_issues()
    counts = outcome_counts([issue.id for issue in all_issues])
    rows = [(issue, sample_subject(issue), counts[issue.id]) for issue in all_issues]
    return render_template("admin/issues.html", rows=rows, permission_form=form)


@bp.post("/issues/<int:issue_id>/duplicate")
def issues_duplicate(issue_id: int):
    """A new draft copied from the issue (any editor may write one), opened in the editor."""
    issue = _issue_or_404(issue_id)
    try:
        copy = issues.duplicate_issue(issue, _actor())
    except NewsletterError as error:
        flash(sentence(error) + ".", "error")
        return redirect(url_for("admin.issues_show", issue_id=issue.id))
    flash(f"This is a new draft copied from issue {issue.id}: change it and save.", "success")
    return redirect(url_for("admin.issues_edit", issue_id=copy.id))


@bp.post("/issues/permissions")
@admin_required
def issues_permissions():
    form = SendPermissionForm()
    if form.validate_on_submit():
        issues.set_editors_may_send(bool(form.editors_may_send.data), actor=_actor())
        flash("Saved who may send issues.", "success")
    return redirect(url_for("admin.issues_index"))


def _issue_form(issue=None) -> tuple[IssueForm, list]:
    if issue is not None and request.method == "GET":
        form = IssueForm(
            subject=issue.subject,
            preheader=issue.preheader,
            body=issue.body_markdown,
            lists=[ml.slug for ml in issue.lists],
            primary_list=issue.primary_list.slug,
            layout=issue.layout,
        )
    else:
        form = IssueForm()
    if issue is not None and issue.kind == IssueKind.WELCOME:
        # Its list is fixed: the form has no list fields to fill or to fail.
        del form.lists
        del form.primary_list
        return form, []
    all_lists = lists.all_lists()
    form.lists.choices = [(ml.slug, ml.name) for ml in all_lists]
    form.primary_list.choices = [("", "The first list ticked")] + form.lists.choices
    return form, all_lists


def _render_form(form, all_lists, issue=None, warning=None):
    status = 422 if form.errors else 200
    return render_template(
        "admin/issues_form.html",
        form=form,
        lists=all_lists,
        issue=issue,
        placeholders=PLACEHOLDERS,
        size_warning=warning,
    ), status


def _save(form, issue=None):
    """Create or update from a valid form; None (with the error on the form) if refused."""
    slugs = [ml.slug for ml in issue.lists] if _is_welcome(issue) else form.ordered_lists()
    fields = {
        "subject": form.subject.data,
        "body_markdown": form.body.data or "",
        "list_slugs": slugs,
        "actor": _actor(),
        "preheader": form.preheader.data or "",
        "layout": form.layout.data or "default",
    }
    try:
        if issue is None:
            return issues.create_issue(**fields)
        return issues.update_issue(issue, **fields)
    except ValidationError as error:
        first_word = str(error).split(" ", 1)[0].strip(",").lower()
        fields = {"subject": form.subject, "body": form.body, "preheader": form.preheader}
        show_error(fields.get(first_word, _list_field(form)), str(error))
    except issues.SendRightRequired:
        raise
    except NewsletterError as error:
        show_error(_list_field(form), str(error))
    return None


def _is_welcome(issue) -> bool:
    return issue is not None and issue.kind == IssueKind.WELCOME


def _list_field(form):
    """Where an error about the lists goes: the lists, or the subject when there are none."""
    return form.lists if "lists" in form else form.subject


def _back(issue):
    """The issue's page, or for a welcome message its list's page."""
    if _is_welcome(issue):
        return redirect(url_for("admin.lists_show", slug=issue.primary_list.slug) + "#welcome")
    return redirect(url_for("admin.issues_show", issue_id=issue.id))


def _saved(issue, verb: str):
    if _is_welcome(issue):
        flash(f"{verb} the welcome message “{issue.subject}”.", "success")
    else:
        flash(f"{verb} the {issue.status.value} issue “{issue.subject}”.", "success")
    warning = size_warning(issue)
    if warning:
        flash(warning, "error")
    return _back(issue)


@bp.route("/issues/new", methods=["GET", "POST"])
def issues_new():
    form, all_lists = _issue_form()
    if form.validate_on_submit():
        issue = _save(form)
        if issue is not None:
            return _saved(issue, "Created")
    return _render_form(form, all_lists)


@bp.route("/issues/<int:issue_id>/edit", methods=["GET", "POST"])
def issues_edit(issue_id: int):
    issue = _issue_or_404(issue_id)
    if issue.status not in issues.editable_states(issue):
        flash(f"This issue is {issue.status.value}: it can no longer be changed.", "error")
        return _back(issue)
    if not issues.may_edit(issue, _actor()):
        if request.method == "POST":
            issues.audit_refused_update(issue, _actor())
        flash(sentence(issues.needs_send_right_sentence(issue)) + ".", "error")
        return _back(issue)
    form, all_lists = _issue_form(issue)
    if form.validate_on_submit():
        try:
            saved = _save(form, issue)
        except issues.SendRightRequired as error:
            # Scheduled while the form was open: nothing is saved, and the page says why.
            flash(sentence(error) + ".", "error")
            return _back(issue)
        if saved is not None:
            return _saved(saved, "Saved")
    warning = size_warning(issue) if request.method == "GET" else None
    return _render_form(form, all_lists, issue=issue, warning=warning)


@bp.get("/issues/<int:issue_id>")
def issues_show(issue_id: int):
    issue = _issue_or_404(issue_id)
    if _is_welcome(issue):
        return _back(issue)  # its page is its list's "Welcome message" section
    return issue_page(issue)


def issue_page(issue, test_form=None, schedule_form=None, status: int = 200):
    """The issue's page; a form given (with its errors) is shown instead of a blank one."""
    editable = issue.status in issues.EDITABLE
    account = _actor()
    page = render_template(
        "admin/issue_show.html",
        issue=issue,
        reader_subject=sample_subject(issue),
        progress=progress_view(issue),
        failed_recipients=failures.failed_recipients(issue.id),
        may_send=issues.may_send(account),
        may_edit=issues.may_edit(issue, account),
        editable=editable,
        size_warning=size_warning(issue) if editable and status == 200 else None,
        test_form=test_form or TestSendForm(formdata=None),
        schedule_form=schedule_form or ScheduleForm(formdata=None),
        date_hint=DATE_HINT,
        time_hint=TIME_HINT,
    )
    return page, status


@bp.get("/issues/<int:issue_id>/progress.json")
def issues_progress(issue_id: int):
    """What the progress bar polls: counts, remaining, rate and ETA."""
    return jsonify(progress_view(_issue_or_404(issue_id)))


def progress_view(issue) -> dict[str, object]:
    counts = control.progress(issue)
    done = counts.final
    rate = eta = None
    if issue.started_at is not None and done:
        elapsed = ((issue.finished_at or utcnow()) - issue.started_at).total_seconds()
        rate = round(done / elapsed, 1) if elapsed > 0 else None
        if rate and counts.open:
            eta = round(counts.open / rate)
    stalled = failures.stalled_seconds(issue)
    return counts.as_dict() | {
        "done": done,
        "remaining": counts.open,
        "rate": rate,
        "eta_seconds": eta,
        "pause_reason": issue.pause_reason,
        "failure_reasons": failures.failure_reasons(issue.id) if counts.counts["failed"] else [],
        "stalled_seconds": stalled,
        "stall_note": failures.stall_note(stalled),
    }


def _control(issue_id: int, action: str):
    issue = _issue_or_404(issue_id)
    nobody = nobody_would_get_it(issue) if action == "send" else None
    if nobody is not None:
        flash(nobody, "error")
        return redirect(url_for("admin.issues_show", issue_id=issue_id))
    try:
        if action == "send":
            count = control.send_issue(issue, _actor(), dispatch=control.can_dispatch())
            flash(f"Sending to {count} recipients.", "success")
        elif action == "resume":
            control.resume(issue, _actor(), dispatch=control.can_dispatch())
            flash("Sending again.", "success")
        elif action == "pause":
            control.pause(issue, _actor())
            flash("Paused. Nothing more is sent until you resume.", "success")
        else:
            control.cancel(issue, _actor())
            flash("Cancelled. Nothing more of this issue is sent.", "success")
    except NewsletterError as error:
        flash(sentence(error), "error")
    return redirect(url_for("admin.issues_show", issue_id=issue_id))


@bp.post("/issues/<int:issue_id>/send")
@send_permission_required
def issues_send(issue_id: int):
    return _control(issue_id, "send")


@bp.post("/issues/<int:issue_id>/pause")
@send_permission_required
def issues_pause(issue_id: int):
    return _control(issue_id, "pause")


@bp.post("/issues/<int:issue_id>/resume")
@send_permission_required
def issues_resume(issue_id: int):
    return _control(issue_id, "resume")


@bp.post("/issues/<int:issue_id>/cancel")
@send_permission_required
def issues_cancel(issue_id: int):
    return _control(issue_id, "cancel")


@bp.post("/issues/<int:issue_id>/schedule")
@send_permission_required
def issues_schedule(issue_id: int):
    """Schedule for a UK date and time; a bad one re-renders the page with the error."""
    issue = _issue_or_404(issue_id)
    nobody = nobody_would_get_it(issue)
    if nobody is not None:
        flash(nobody, "error")
        return redirect(url_for("admin.issues_show", issue_id=issue.id))
    form = ScheduleForm()
    if form.validate_on_submit():
        try:
            when = uk_to_utc(form.date.data, form.time.data)
            scheduling.schedule_issue(issue, when, actor=_actor())
        except ValidationError as error:
            show_error(form.time if "time" in str(error) else form.date, str(error))
        except NewsletterError as error:
            flash(sentence(error), "error")
            return redirect(url_for("admin.issues_show", issue_id=issue.id))
        else:
            flash("Scheduled. It starts by itself at the time shown.", "success")
            return redirect(url_for("admin.issues_show", issue_id=issue.id))
    return issue_page(issue, schedule_form=form, status=422)


@bp.post("/issues/<int:issue_id>/unschedule")
@send_permission_required
def issues_unschedule(issue_id: int):
    issue = _issue_or_404(issue_id)
    try:
        scheduling.unschedule_issue(issue, actor=_actor())
        flash("The schedule is cancelled: the issue is a draft again.", "success")
    except NewsletterError as error:
        flash(sentence(error), "error")
    return redirect(url_for("admin.issues_show", issue_id=issue.id))
