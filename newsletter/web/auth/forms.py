"""Forms for signing in, changing a password and creating the first admin."""

from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired

from newsletter.accounts import check_password
from newsletter.addresses import parse_address
from newsletter.web.forms import BaseForm, domain_check


class LoginForm(BaseForm):
    email = StringField("Email address", validators=[InputRequired()])
    password = PasswordField("Password", validators=[InputRequired()])


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        "Current password", validators=[InputRequired("Enter your current password")]
    )
    new_password = PasswordField(
        "New password",
        validators=[InputRequired("Enter a new password"), domain_check(check_password)],
    )
    confirm_password = PasswordField(
        "Confirm new password",
        validators=[
            InputRequired("Enter the new password again"),
            EqualTo("new_password", "The new passwords do not match"),
        ],
    )


class SetupForm(BaseForm):
    email = StringField(
        "Email address",
        validators=[InputRequired("Enter your email address"), domain_check(parse_address)],
    )
    password = PasswordField(
        "Password", validators=[InputRequired("Enter a password"), domain_check(check_password)]
    )
    confirm_password = PasswordField(
        "Confirm password",
        validators=[
            InputRequired("Enter the password again"),
            EqualTo("password", "The passwords do not match"),
        ],
    )


class ResetPasswordForm(BaseForm):
    new_password = PasswordField(
        "New password",
        validators=[InputRequired("Enter a new password"), domain_check(check_password)],
    )
    confirm_password = PasswordField(
        "Confirm new password",
        validators=[
            InputRequired("Enter the new password again"),
            EqualTo("new_password", "The new passwords do not match"),
        ],
    )
