"""Signing in and out, changing a password, and the first-run set-up link."""

from __future__ import annotations

import time

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from newsletter import accounts
from newsletter.accounts import setup_token_is_valid
from newsletter.errors import NewsletterError, NotFoundError
from newsletter.web.auth.blueprint import bp
from newsletter.web.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    ResetPasswordForm,
    SetupForm,
)
from newsletter.web.auth.limits import (
    account_key,
    password_attempts_limited,
    signed_in_account_key,
)
from newsletter.web.auth.session import end_session, safe_next, start_session
from newsletter.web.forms import show_error

LOGIN_FAILED = "Enter a correct email address and password"
TOO_MANY_ATTEMPTS = "There have been too many attempts to sign in. Wait a minute, then try again."
TOO_MANY_PASSWORD_ATTEMPTS = (
    "There have been too many attempts to change the password. Wait a minute, then try again."
)


def _login_page(form: LoginForm, error: str | None = None, status: int = 200):
    form.password.data = ""
    # One sentence for every failure, so the page never tells which part was wrong.
    form.email.errors = [error] if error else []
    form.password.errors = []
    return render_template("auth/login.html", form=form), status


def _retry_after(response, request_limit):
    response.headers["Retry-After"] = str(max(1, int(request_limit.reset_at - time.time())))
    return response


def _too_many_attempts(request_limit):
    """Show the sign-in page again, with a 429 and a sentence instead of a bare error."""
    response = make_response(_login_page(LoginForm(), TOO_MANY_ATTEMPTS, 429))
    return _retry_after(response, request_limit)


def _too_many_password_attempts(request_limit):
    """Show the password page again, with a 429 and a sentence instead of a bare error."""
    form = ChangePasswordForm(formdata=None)
    show_error(form.current_password, TOO_MANY_PASSWORD_ATTEMPTS)
    page = render_template("auth/change_password.html", form=form)
    return _retry_after(make_response(page, 429), request_limit)


@bp.route("/login", methods=["GET", "POST"])
@password_attempts_limited(account_key, on_breach=_too_many_attempts)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        account = accounts.authenticate(form.email.data, form.password.data)
        if account is not None:
            start_session(account)
            return redirect(safe_next(request.args.get("next")))
    if request.method == "POST":
        return _login_page(form, LOGIN_FAILED, 422)
    return _login_page(form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Bumps the account's session version: a copy of this cookie no longer signs in.
        accounts.note_logout(current_user._get_current_object())
    end_session()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"], endpoint="change_password")
@login_required
@password_attempts_limited(signed_in_account_key, on_breach=_too_many_password_attempts)
def change_password_page():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        account = current_user._get_current_object()
        try:
            accounts.change_password(account, form.current_password.data, form.new_password.data)
        except accounts.IncorrectPasswordError as error:
            show_error(form.current_password, str(error))
        else:
            # The version bump ended this session too; carry on under the new one.
            login_user(account)
            flash("Your password has been changed. Any other sessions have ended.", "success")
            return redirect(url_for("admin.dashboard"))
    status = 422 if form.errors else 200
    return render_template("auth/change_password.html", form=form), status


def _setup_link_invalid():
    """The page for a link that no longer works; it says "used" once an account exists."""
    return render_template("auth/setup_invalid.html", used=accounts.has_accounts()), 404


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    if not setup_token_is_valid(token):
        return _setup_link_invalid()
    form = SetupForm()
    if form.validate_on_submit():
        try:
            account = accounts.create_first_admin(token, form.email.data, form.password.data)
        except NotFoundError:
            return _setup_link_invalid()
        except NewsletterError as error:
            show_error(form.email, str(error))
        else:
            start_session(account)
            accounts.note_login(account, via="setup")
            flash("Your admin account has been created and you are signed in.", "success")
            # First run: lead on to the organisation's identity, which the mail needs.
            return redirect(url_for("admin.settings", first_run=1))
    status = 422 if form.errors else 200
    return render_template("auth/setup.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """A one-time link an admin made: set a new password (the account's sessions end)."""
    account = accounts.reset_link_account(token)
    if account is None:
        return render_template("auth/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.new_password.data)
        except NotFoundError:
            return render_template("auth/reset_invalid.html"), 404
        except NewsletterError as error:
            show_error(form.new_password, str(error))
        else:
            if current_user.is_authenticated:
                end_session()
            flash("Your password has been set. Sign in with it.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.errors else 200
    return render_template("auth/reset.html", form=form, account=account), status
