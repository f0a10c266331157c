"""Admin pages: the suppression list (look up, add by hand or CSV; admins remove)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from newsletter import suppression
from newsletter.addresses import parse_address
from newsletter.consent import reason_words
from newsletter.errors import ValidationError
from newsletter.models import SuppressionEntry
from newsletter.models.enums import SELF_LIFTABLE_REASONS
from newsletter.suppression import manual
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import AddSuppressionForm, ReasonForm
from newsletter.web.forms import show_error
from newsletter.web.params import to_id


def entry_actions(entry: SuppressionEntry) -> str:
    """What may lift the entry's standing reasons, as the code allows (manual.remove_entry,
    suppression.lift_self_liftable)."""
    standing = set(entry.active_reasons)
    if not standing:
        return "Nothing stands: the address may be mailed again once the person signs up."
    if standing <= SELF_LIFTABLE_REASONS:
        person = "The person lifts this by signing up and confirming again."
    else:
        person = "The person cannot lift this by signing up again."
    if manual.admin_may_remove(entry):
        return (
            f"{person} An admin can remove it; the address then still needs the person to "
            "sign up and confirm again."
        )
    return f"{person} Only the person can lift it."


@bp.get("/suppressions")
def suppressions_index():
    """Look an address up (by its hash) and page through entries, newest first."""
    before = request.args.get("before", type=to_id)
    term = request.args.get("q", "").strip()
    found, error = None, None
    if term:
        try:
            found = suppression.find_entry(parse_address(term).key) or False
        except ValidationError as exc:
            error = str(exc)
    entries, older = manual.recent_entries(before)
    return render_template(
        "admin/suppressions.html",
        term=term,
        found=found,
        error=error,
        entries=entries,
        older=older,
        paged=before,
        counts={reason_words(reason): n for reason, n in manual.reason_counts().items()},
        reason_words=reason_words,
        entry_actions=entry_actions,
        admin_may_remove=manual.admin_may_remove,
    ), (422 if error else 200)


@bp.route("/suppressions/new", methods=["GET", "POST"])
def suppressions_new():
    form = AddSuppressionForm()
    if form.validate_on_submit():
        addresses = _addresses(form)
        if addresses is not None:
            result = manual.add_addresses(
                addresses, form.note.data, actor=current_user._get_current_object()
            )
            message = f"Suppressed {result.added}; {result.already} were already suppressed."
            if result.invalid:
                lines = ", ".join(str(line) for line, _ in result.invalid[:20])
                message += f" {len(result.invalid)} not valid (line {lines})."
            flash(message, "success" if result.added or result.already else "error")
            return redirect(url_for("admin.suppressions_index"))
    status = 422 if form.errors else 200
    return render_template("admin/suppressions_new.html", form=form), status


def _addresses(form: AddSuppressionForm) -> list[str] | None:
    upload = form.file.data
    typed = (form.email.data or "").strip()
    if upload and getattr(upload, "filename", ""):
        try:
            with upload.stream:  # a large upload is a temporary file: close it once read
                content = upload.read()
            return manual.addresses_from_csv(content)
        except ValidationError as error:
            show_error(form.file, str(error))
            return None
    if not typed:
        show_error(form.email, "Enter an email address or choose a CSV file")
        return None
    try:
        parse_address(typed)
    except ValidationError as error:
        show_error(form.email, str(error))
        return None
    return [typed]


@bp.post("/suppressions/<int:entry_id>/remove")
@admin_required
def suppressions_remove(entry_id: int):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(form.reason.errors[0] if form.reason.errors else "Enter a reason", "error")
        return redirect(url_for("admin.suppressions_index"))
    try:
        lifted = manual.remove_entry(entry_id, form.reason.data, current_user._get_current_object())
    except ValidationError as error:
        if "does not exist" in str(error):
            abort(404)
        flash(str(error), "error")
    else:
        flash(
            f"Removed ({', '.join(lifted)}). The address gets no mail until the person opts in "
            "again.",
            "success",
        )
    return redirect(url_for("admin.suppressions_index"))
