"""Forms on the public pages."""

from __future__ import annotations

from wtforms import SelectMultipleField, StringField, widgets
from wtforms.validators import InputRequired, Length, ValidationError

from newsletter.addresses import MAX_LENGTH, Address, parse_address
from newsletter.bidi import close_bidi
from newsletter.errors import ValidationError as DomainValidationError
from newsletter.lists import has_visible_text
from newsletter.web.forms import MAX_NAME_LENGTH, BaseForm, check_person_name


def check_name(form, field) -> None:
    # The length has its own validator (Length) and message; this checks the characters.
    try:
        check_person_name((field.data or "")[:MAX_NAME_LENGTH])
    except DomainValidationError as error:
        raise ValidationError(str(error)) from error


def visible_or_empty(value: str | None) -> str | None:
    """A name of nothing visible (zero-width spaces, direction marks) is no name: the mail
    then says "reader", not an invisible name; a direction override or isolate it leaves open
    is closed at its end (newsletter/bidi.py)."""
    if value is None:
        return None
    if not has_visible_text(value):
        return ""
    # Never longer for the closing: a name too long already is still refused as too long.
    return close_bidi(value, max(len(value), MAX_NAME_LENGTH))


class ListCheckboxes(SelectMultipleField):
    """One checkbox per list; the value is the list's slug."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SubscribeForm(BaseForm):
    class Meta:
        # CSRFProtect checks every POST before the view runs, and the page renders its token
        # with csrf_token(); a second check by the form would only sign a token nobody reads.
        csrf = False

    email = StringField(
        "Email address",
        validators=[
            InputRequired("Enter an email address"),
            Length(max=MAX_LENGTH, message="Email address must be 254 characters or fewer"),
        ],
    )
    name = StringField(
        "Name (optional)",
        # A client that leaves the field out (not a browser) sends no name, not None.
        default="",
        filters=[visible_or_empty],
        validators=[
            Length(
                max=MAX_NAME_LENGTH, message=f"Name must be {MAX_NAME_LENGTH} characters or fewer"
            ),
            check_name,
        ],
    )
    lists = ListCheckboxes("Newsletters", validate_choice=False)
    # Honeypot: hidden from people and assistive technology; bots fill every field.
    website = StringField("Leave this field empty")

    address: Address | None = None

    def validate_email(self, field) -> None:
        # Parsed once here and kept, so the view does not validate the address a second time.
        try:
            self.address = parse_address(field.data)
        except DomainValidationError as error:
            raise ValidationError(str(error)) from error

    def validate_lists(self, field) -> None:
        if not field.data:
            raise ValidationError("Select at least one newsletter")
        if not set(field.data) <= {value for value, _ in field.choices}:
            raise ValidationError("Select newsletters from the list shown")


class PreferencesForm(BaseForm):
    name = StringField(
        "Name (optional)",
        # A client that leaves the field out (not a browser) sends no name, not None.
        default="",
        filters=[visible_or_empty],
        validators=[
            Length(
                max=MAX_NAME_LENGTH, message=f"Name must be {MAX_NAME_LENGTH} characters or fewer"
            ),
            check_name,
        ],
    )
    lists = ListCheckboxes("Newsletters", validate_choice=False)

    def validate_lists(self, field) -> None:
        if not set(field.data or ()) <= {value for value, _ in field.choices}:
            raise ValidationError("Select newsletters from the list shown")
