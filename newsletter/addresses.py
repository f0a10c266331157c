"""Email addresses: validation, the stored normalised form, and the canonical key."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from newsletter.errors import ValidationError

MAX_LENGTH = 254


@dataclass(frozen=True)
class Address:
    email: str  # email-validator's normalised form: what we store and mail
    key: str  # that form casefolded: the key for dedup, suppression, limits and erasure


def canonical_key(normalised: str) -> str:
    """The deduplication key of an already normalised address (DESIGN.md invariant 7)."""
    return normalised.casefold()


def parse_address(raw: str) -> Address:
    """Validate without DNS; raise ValidationError with a sentence fit for a form."""
    candidate = (raw or "").strip()
    if not candidate:
        raise ValidationError("Enter an email address")
    if len(candidate) > MAX_LENGTH:
        raise ValidationError("Email address must be 254 characters or fewer")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(
            "Enter an email address in the correct format, like name@example.com"
        ) from error
    return Address(email=result.normalized, key=canonical_key(result.normalized))
