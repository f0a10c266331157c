"""Forms of the admin pages."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.validators import ValidationError as FieldError

from newsletter.accounts import check_password
from newsletter.addresses import parse_address
from newsletter.api_tokens import SCOPES
from newsletter.compose.issues import check_preheader, check_subject
from newsletter.compose.placeholders import check_template
from newsletter.compose.render import LAYOUTS
from newsletter.lists import check_list_id_label, check_name, check_slug
from newsletter.models import AccountRole
from newsletter.web.forms import BaseForm, domain_check


class NewAccountForm(BaseForm):
    email = StringField(
        "Email address",
        validators=[InputRequired("Enter an email address"), domain_check(parse_address)],
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice(AccountRole.EDITOR.value, "Editor"),
            SelectChoice(AccountRole.ADMIN.value, "Admin"),
        ],
        default=AccountRole.EDITOR.value,
    )
    password = PasswordField(
        "Password", validators=[InputRequired("Enter a password"), domain_check(check_password)]
    )


class ListForm(BaseForm):
    # In the order of the page, so the error summary lists problems in page order.
    name = StringField(
        "Name", validators=[InputRequired("Enter a name for the list"), domain_check(check_name)]
    )
    # Blank means "make it from the name" (lists.unique_slug); slug.js fills it in as one types.
    slug = StringField("Slug", validators=[Optional(), domain_check(check_slug)])
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000, message="Description must be 2000 characters or fewer")],
    )
    is_public = BooleanField("Public", default=True)
    double_opt_in = BooleanField("Ask new subscribers to confirm by email", default=True)
    list_id_label = StringField(
        "List-Id label",
        validators=[InputRequired("Enter a List-Id label"), domain_check(check_list_id_label)],
    )


class NewListForm(ListForm):
    # Blank on a new list means "derive it from the slug".
    list_id_label = StringField(
        "List-Id label", validators=[Optional(), domain_check(check_list_id_label)]
    )


class EditListForm(ListForm):
    slug = None  # fixed at creation: URLs and the command line use it


class ImportForm(BaseForm):
    file = FileField(
        "File",
        validators=[FileRequired("Choose a file to import")],
    )
    mailing_list = SelectField("List", validate_choice=True)
    format = SelectField(
        "Format",
        choices=[
            SelectChoice("auto", "Recognise it from the header"),
            SelectChoice("mailchimp", "Mailchimp audience export (CSV or ZIP)"),
            SelectChoice("listmonk", "listmonk CSV"),
            SelectChoice("mailman", "Mailman address list"),
            SelectChoice("csv", "Other CSV with an email column"),
        ],
        default="auto",
    )
    consent = RadioField(
        "Consent",
        choices=[
            SelectChoice("keep", "Keep their consent: import them as confirmed subscribers"),
            SelectChoice("reconfirm", "Ask them again: import them as pending, to confirm later"),
        ],
        default="keep",
    )


class IssueForm(BaseForm):
    subject = StringField(
        "Subject",
        validators=[
            InputRequired("Enter a subject"),
            domain_check(check_subject),
            domain_check(lambda text: check_template(text, "Subject")),
        ],
    )
    preheader = StringField("Preheader (optional)", validators=[domain_check(check_preheader)])
    body = TextAreaField(
        "Body",
        validators=[
            Length(max=200_000, message="Body must be 200,000 characters or fewer"),
            domain_check(lambda text: check_template(text or "", "Body")),
        ],
    )
    # Choices are the list slugs, set by the view.
    lists = SelectMultipleField("Lists", validators=[InputRequired("Choose at least one list")])
    primary_list = SelectField("Primary list", validate_choice=False)
    layout = RadioField(
        "Layout",
        choices=[SelectChoice(name, label) for name, label in LAYOUTS.items()],
        default="default",
    )

    def validate_primary_list(self, field) -> None:
        if field.data and self.lists.data and field.data not in self.lists.data:
            raise FieldError("The primary list must be one of the lists ticked")

    def ordered_lists(self) -> list[str]:
        """The ticked slugs with the primary list first (it names the issue in List-Id)."""
        slugs = list(self.lists.data or [])
        primary = self.primary_list.data if self.primary_list.data in slugs else None
        return [primary, *(s for s in slugs if s != primary)] if primary else slugs


class TestSendForm(BaseForm):
    addresses = TextAreaField(
        "Email addresses",
        validators=[InputRequired("Enter at least one email address")],
    )


class TestAddressForm(BaseForm):
    email = StringField(
        "Email address",
        validators=[InputRequired("Enter an email address"), domain_check(parse_address)],
    )


class ScheduleForm(BaseForm):
    date = StringField("Date", validators=[InputRequired("Enter a date")])
    time = StringField("Time", validators=[InputRequired("Enter a time")])


class SendPermissionForm(BaseForm):
    editors_may_send = BooleanField("Editors may send, schedule, pause and cancel issues")


class AddSuppressionForm(BaseForm):
    """One address typed in, or a CSV of them."""

    email = StringField("Email address", validators=[Optional()])
    file = FileField("Or a CSV file of addresses")
    note = StringField(
        "Note",
        validators=[Length(max=500, message="Note must be 500 characters or fewer")],
    )


class ReasonForm(BaseForm):
    """An action an admin must explain: removing a suppression."""

    reason = StringField(
        "Why is it removed?",
        validators=[
            InputRequired("Enter why the suppression is removed"),
            Length(max=500, message="Reason must be 500 characters or fewer"),
        ],
    )


class ConfirmForm(BaseForm):
    """A button that only needs the CSRF token (unsubscribe, export, erase)."""


class SettingsForm(BaseForm):
    """The organisation's identity (/admin/settings); newsletter.settings checks the values."""

    org_name = StringField("Organisation name")
    postal_address = TextAreaField("Postal address")
    from_name = StringField("From name")
    from_address = StringField("From address")
    site_title = StringField("Public site title")
    embed_origins = TextAreaField("Sites allowed to embed the sign-up form")
    embed_thanks_urls = TextAreaField("Thank-you pages")


class ApiTokenForm(BaseForm):
    """A new API token for an account (newsletter.api_tokens checks the values)."""

    name = StringField(
        "Name",
        validators=[Length(max=100, message="Name must be at most 100 characters")],
    )
    scope_read = BooleanField(
        "read: lists, subscribers, suppressions, issues, imports (and, for admins, webhooks)"
    )
    scope_subscribers = BooleanField(
        "subscribers: add, change, unsubscribe (and, for admins, export, erase, suppress)"
    )
    scope_send = BooleanField("send: write, send and schedule issues")
    scope_webhooks = BooleanField(
        "webhooks: for admins, register webhook endpoints, disable, enable, replay, resend"
    )
    expires_days = StringField("Expires after (days)", default="90")

    def chosen_scopes(self) -> list[str]:
        return [scope for scope in SCOPES if getattr(self, f"scope_{scope}").data]


class WebhookEndpointForm(BaseForm):
    """A new webhook endpoint; newsletter.webhooks.endpoints checks the URL and the events."""

    url = StringField("Endpoint URL", validators=[InputRequired("Enter the URL of the endpoint")])
    description = StringField("Description (optional)", validators=[Length(max=200)])
    events = SelectMultipleField("Events to send", validate_choice=False)
