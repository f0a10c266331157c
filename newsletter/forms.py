"""Validators shared by the web forms, reusing the domain's own checks so each rule exists once."""

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


def show_error(field: Field, message: str) -> None:
    """Attach a message (from a domain error, say) to a field after validation."""
    # Domain sentences read well after "Error: " on the command line; a form wants a capital.
    field.errors = [*field.errors, message[:1].upper() + message[1:]]
