"""What the web forms share: their base class (no NUL byte in any field), the domain's own
checks as field validators (so each rule exists once), and a domain error shown on the field it
is about."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import Field, Form
from wtforms.validators import ValidationError as FieldError

from newsletter.bidi import close_bidi
from newsletter.errors import ValidationError
from newsletter.lists import has_visible_text

MAX_NAME_LENGTH = 200
# Line breaks and other control characters have no place in a name that may reach a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_person_name(name: str) -> str:
    """A person's name as the sign-up form and the API accept it, or ValidationError. A name
    of nothing visible (zero-width spaces, direction marks) is no name: the mail then says
    "reader", not an invisible name. A direction override or isolate left open is closed at
    the name's end (newsletter/bidi.py), so it cannot reverse the text after the name."""
    if len(name or "") > MAX_NAME_LENGTH:
        raise ValidationError(f"Name must be {MAX_NAME_LENGTH} characters or fewer")
    if name and _CONTROL.search(name):
        raise ValidationError("Name must not contain line breaks or control characters")
    return close_bidi(name, MAX_NAME_LENGTH) if name and has_visible_text(name) else ""


class BaseForm(FlaskForm):
    """The base of every form: a NUL byte in any text field is an error on that field.

    PostgreSQL refuses to store text holding one (a 500 from any form whose own checks let it
    through), and no person types one; each form's own validators still run and speak first.
    """

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators=extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, list) else [field.data]
            if any(isinstance(value, str) and "\x00" in value for value in values):
                field.errors = [*field.errors, f"{field.label.text} must not contain a NUL byte"]
                valid = False
        return valid


def domain_check(check: Callable[[str], object]) -> Callable[[Form, Field], None]:
    """A WTForms validator that runs a domain check and shows its sentence on the field."""

    def validator(form: Form, field: Field) -> None:
        try:
            check(field.data)
        except ValidationError as error:
            raise FieldError(str(error)) from error

    return validator


def sentence(error: Exception | str) -> str:
    """A domain error's message as a sentence for a page.

    Domain sentences read well after "Error: " on the command line; a page wants a capital,
    but only on a plain word: a sentence that starts with a file name or an address
    ("x.csv: no email column…", "zoë@example.org is…") keeps it as it is written.
    """
    text = str(error)
    first = text.split(" ", 1)[0]
    if not (first.isalpha() and first.islower()):
        return text
    return text[:1].upper() + text[1:]


def show_error(field: Field, message: str) -> None:
    """Attach a message (from a domain error, say) to a field after validation."""
    field.errors = [*field.errors, sentence(message)]
