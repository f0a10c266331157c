"""Admin pages: secretariat accounts, and the test addresses test sends may go to (admins only)."""

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from newsletter import accounts
from newsletter.compose.issues import editors_may_send
from newsletter.delivery import trial_send
from newsletter.errors import NewsletterError, NotFoundError, ValidationError
from newsletter.urls import external_url
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ConfirmForm, NewAccountForm, TestAddressForm
from newsletter.web.forms import show_error


@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def accounts_index():
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            account = accounts.create_account(
                form.email.data,
                form.password.data,
                role=form.role.data,
                actor=current_user._get_current_object(),
            )
        except NewsletterError as error:
            show_error(form.email, str(error))
        else:
            flash(f"Created an {account.role.value} account for {account.email}.", "success")
            return redirect(url_for("admin.accounts_index"))
    status = 422 if form.errors else 200
    page = render_template(
        "admin/accounts.html",
        form=form,
        accounts=accounts.all_accounts(),
        editors_may_send=editors_may_send(),
        reset_form=ConfirmForm(formdata=None),
        reset_hours=accounts.RESET_LINK_HOURS,
    )
    return page, status


@bp.post("/accounts/<int:account_id>/disable")
@admin_required
def accounts_disable(account_id: int):
    return _set_disabled(account_id, disabled=True)


@bp.post("/accounts/<int:account_id>/enable")
@admin_required
def accounts_enable(account_id: int):
    return _set_disabled(account_id, disabled=False)


@bp.post("/accounts/<int:account_id>/reset")
@admin_required
def accounts_reset(account_id: int):
    """Make a one-time password reset link for another account and show it, this once."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    account = accounts.get_account(account_id)
    try:
        token, expires_at = accounts.issue_reset_token(
            account, actor=current_user._get_current_object()
        )
    except ValidationError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.accounts_index"))
    page = render_template(
        "admin/account_reset_link.html",
        account=account,
        link=external_url("auth.reset_password", token=token),
        expires_at=expires_at,
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_disabled(account_id: int, disabled: bool):
    account = accounts.get_account(account_id)
    try:
        accounts.set_disabled(account, disabled, actor=current_user._get_current_object())
    except ValidationError as error:
        flash(str(error), "error")
    else:
        state = "disabled" if disabled else "enabled"
        flash(f"The account for {account.email} is {state}.", "success")
    return redirect(url_for("admin.accounts_index"))


@bp.route("/test-addresses", methods=["GET", "POST"])
@admin_required
def test_addresses():
    """The addresses besides the accounts' own that test sends may go to: list, add."""
    form = TestAddressForm()
    if form.validate_on_submit():
        try:
            row = trial_send.add_test_address(
                form.email.data, actor=current_user._get_current_object()
            )
        except NewsletterError as error:
            show_error(form.email, str(error))
        else:
            flash(f"Test messages may now go to {row.email}.", "success")
            return redirect(url_for("admin.test_addresses"))
    status = 422 if form.errors else 200
    page = render_template(
        "admin/test_addresses.html",
        form=form,
        remove_form=ConfirmForm(formdata=None),
        addresses=trial_send.kept_test_addresses(),
        accounts=[a for a in accounts.all_accounts() if not a.disabled],
    )
    return page, status


@bp.post("/test-addresses/<int:address_id>/remove")
@admin_required
def test_addresses_remove(address_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        row = trial_send.remove_test_address(address_id, current_user._get_current_object())
    except NotFoundError:
        abort(404)
    flash(f"Test messages no longer go to {row.email}.", "success")
    return redirect(url_for("admin.test_addresses"))
