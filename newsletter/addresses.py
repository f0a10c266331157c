"""Email addresses: validation, the stored normalised form, and the canonical key.

email-validator decides what an address is; this module is the only place that asks it.
Validating a domain (IDNA and the rest) is most of email-validator's cost, and a file of
subscribers has far fewer domains than addresses, so `AddressValidator` validates each domain
once and caches the verdict, checks a plain ASCII local part by the same dot-atom rule
email-validator applies, and hands anything unusual (quotes, Unicode, display names, IP
literals) to email-validator whole. Its answers are email-validator's; the import, the forms
and the admin all come through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from newsletter.errors import ValidationError

MAX_LENGTH = 254
MAX_LOCAL_LENGTH = 64
MAX_CACHED_DOMAINS = 200_000

# A plain address: a dot-atom local part, "@", an ASCII domain (checked once per domain).
_PLAIN = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([A-Za-z0-9.-]+)"
)


@dataclass(frozen=True)
class Address:
    email: str  # email-validator's normalised form: what we store and mail
    key: str  # that form casefolded: the key for dedup, suppression, limits and erasure


def canonical_key(normalised: str) -> str:
    """The deduplication key of an already normalised address.

    email-validator's normalised form keeps the case of the part before the @, which most
    mail systems ignore, so one person typing their address two ways is still one person.
    """
    return normalised.casefold()


class AddressValidator:
    """email-validator's answers, with each domain's verdict cached."""

    def __init__(self) -> None:
        self._domains: dict[str, tuple[bool, str]] = {}

    def parse(self, raw: str) -> tuple[Address | None, str | None]:
        """(Address, None), or (None, the reason it is refused)."""
        checked = self.check(raw)
        if isinstance(checked, str):
            return None, checked
        return Address(email=checked[0], key=checked[1]), None

    def check(self, raw: str) -> tuple[str, str] | str:
        """(normalised address, canonical key), or the reason it is refused (a str).

        A tuple rather than an Address: the import calls this for every row, and building a
        frozen dataclass costs more than the rest of a plain address's check.
        """
        candidate = raw.strip()
        if not candidate:
            return "no email address"
        if len(candidate) > MAX_LENGTH:
            return f"longer than {MAX_LENGTH} characters"
        plain = _PLAIN.fullmatch(candidate)
        if plain is not None and plain.end(1) <= MAX_LOCAL_LENGTH:
            local, domain = plain.groups()
            # email-validator lowercases an ASCII domain, so one verdict serves every case.
            verdict = self._domains.get(domain)
            if verdict is None:
                verdict = self._check_domain(domain)
            valid, value = verdict
            if not valid:
                return value
            if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
                local = local.lower()
            email = f"{local}@{value}"
            return email, canonical_key(email)
        return self._full(candidate)

    def _check_domain(self, domain: str) -> tuple[bool, str]:
        lowered = domain.lower()
        verdict = self._domains.get(lowered)
        if verdict is None:
            try:
                verdict = True, validate_email(f"a@{lowered}", check_deliverability=False).domain
            except EmailNotValidError as error:
                verdict = False, str(error)
        if len(self._domains) >= MAX_CACHED_DOMAINS:
            self._domains.clear()
        self._domains[domain] = self._domains[lowered] = verdict
        return verdict

    @staticmethod
    def _full(candidate: str) -> tuple[str, str] | str:
        try:
            result = validate_email(candidate, check_deliverability=False)
        except EmailNotValidError as error:
            return str(error)
        return result.normalized, canonical_key(result.normalized)


# One per process for single addresses (forms, admin, the CLI); the cache only ever holds
# email-validator's verdicts, so sharing it between requests changes no answer.
_validator = AddressValidator()


def parse_address(raw: str) -> Address:
    """Validate without DNS; raise ValidationError with a sentence fit for a form."""
    candidate = (raw or "").strip()
    if not candidate:
        raise ValidationError("Enter an email address")
    if len(candidate) > MAX_LENGTH:
        raise ValidationError("Email address must be 254 characters or fewer")
    checked = _validator.check(candidate)
    if isinstance(checked, str):
        raise ValidationError("Enter an email address in the correct format, like name@example.com")
    return Address(email=checked[0], key=checked[1])
