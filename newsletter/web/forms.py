"""What the web forms share: the domain's own checks as field validators (so each rule exists
once), and a domain error shown on the field it is about."""

from __future__ import annotations

from collections.abc import Callable

from wtforms import Field, Form
from wtforms.validators import ValidationError as FieldError

from newsletter.errors import ValidationError


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

    Domain sentences read well after "Error: " on the command line; a page wants a capital.
    """
    text = str(error)
    return text[:1].upper() + text[1:]


def show_error(field: Field, message: str) -> None:
    """Attach a message (from a domain error, say) to a field after validation."""
    field.errors = [*field.errors, sentence(message)]
