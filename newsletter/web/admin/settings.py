"""Admin page: the organisation's identity (name, postal address, From, site title)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from newsletter import settings
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import SettingsForm
from newsletter.web.forms import show_error


@bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
@admin_required
def settings_page():
    first_run = request.args.get("first_run") == "1"
    locked = settings.set_by_environment(current_app.config)
    form = SettingsForm()
    if request.method == "GET":
        for field, value in settings.stored_values().items():
            form[field].data = value
    elif form.validate_on_submit():
        submitted = {name: form[name].data for name in settings.LABELS}
        try:
            changed = settings.save(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                submitted,
                actor=current_user._get_current_object(),
            )
        except settings.FieldError as error:
            show_error(form[error.field], str(error))
        else:
            if changed:
                flash("Settings saved: " + ", ".join(changed).lower() + ".", "success")
            else:
                flash("Nothing changed.", "success")
            return redirect(url_for("admin.dashboard" if first_run else "admin.settings"))
    status = 422 if form.errors else 200
    mail_from = settings.effective_from(current_app.config)
    page = render_template(
        "admin/settings.html",
        form=form,
        locked=locked,
        first_run=first_run,
        mail_from=mail_from,
        allows_http=settings.allows_http_thanks(current_app.config),
    )
    return page, status
