"""Admin pages: an account's API tokens, made (shown once) and revoked (admins only)."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from newsletter import accounts, api_tokens
from newsletter.errors import NotFoundError, ValidationError
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ApiTokenForm, ConfirmForm
from newsletter.web.forms import show_error


def _account(account_id: int):
    try:
        return accounts.get_account(account_id)
    except NotFoundError:
        abort(404)


def _expiry(form: ApiTokenForm) -> int | None:
    raw = (form.expires_days.data or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ValidationError("Expiry must be a whole number of days, or empty for never")
    return int(raw)


@bp.route("/accounts/<int:account_id>/tokens", methods=["GET", "POST"])
@admin_required
def api_tokens_index(account_id: int):
    account = _account(account_id)
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            made = api_tokens.create_token(
                account, form.chosen_scopes(), name=form.name.data or "",
                expires_days=_expiry(form), actor=current_user._get_current_object(),
            )  # fmt: skip
        except ValidationError as error:
            field = form.expires_days if "xpiry" in str(error) else form.scope_read
            show_error(field, str(error))
        else:
            page = render_template("admin/api_token_made.html", account=account, made=made)
            response = make_response(page)
            response.headers["Cache-Control"] = "no-store"
            return response
    status = 422 if form.errors else 200
    page = render_template(
        "admin/api_tokens.html",
        account=account,
        form=form,
        tokens=api_tokens.tokens_of(account),
        state=api_tokens.token_state,
        revoke_form=ConfirmForm(formdata=None),
    )
    return page, status


@bp.post("/accounts/<int:account_id>/tokens/<int:token_id>/revoke")
@admin_required
def api_tokens_revoke(account_id: int, token_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        token = api_tokens.get_token(token_id)
    except NotFoundError:
        abort(404)
    if token.account_id != account_id:
        abort(404)
    api_tokens.revoke_token(token, actor=current_user._get_current_object())
    flash(f"Token {token.id} is revoked: it no longer works.", "success")
    return redirect(url_for("admin.api_tokens_index", account_id=account_id))
