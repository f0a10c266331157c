"""Validating a file's addresses fast, with the same answers as newsletter.addresses.

email-validator spends about 16 µs of its 22 µs on the domain (IDNA and the rest) and half a
microsecond on an ordinary local part. A real list has far fewer domains than addresses, so
the domain part is validated once per distinct domain and the result cached; a plain ASCII
local part is checked by the same dot-atom rule email-validator applies. Anything unusual
(quotes, Unicode, display names, IP literals) goes through email-validator whole.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from newsletter.addresses import MAX_LENGTH, Address, canonical_key

# RFC 5322 dot-atom of ASCII atext: always a valid local part for email-validator.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_ASCII_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")
MAX_LOCAL_LENGTH = 64
MAX_CACHED_DOMAINS = 200_000


class AddressValidator:
    """parse(raw) -> (Address, None) or (None, reason); caches each domain's verdict."""

    def __init__(self) -> None:
        self._domains: dict[str, tuple[bool, str]] = {}

    def parse(self, raw: str) -> tuple[Address | None, str | None]:
        candidate = raw.strip()
        if not candidate:
            return None, "no email address"
        if len(candidate) > MAX_LENGTH:
            return None, f"longer than {MAX_LENGTH} characters"
        local, at, domain = candidate.rpartition("@")
        if (
            at
            and len(local) <= MAX_LOCAL_LENGTH
            and _DOT_ATOM.fullmatch(local)
            and _ASCII_DOMAIN.fullmatch(domain)
        ):
            # email-validator lowercases an ASCII domain, so one verdict serves every case.
            domain = domain.lower()
            verdict = self._domains.get(domain)
            if verdict is None:
                verdict = self._check_domain(domain)
            valid, value = verdict
            if not valid:
                return None, value
            if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
                local = local.lower()
            email = f"{local}@{value}"
            return Address(email=email, key=canonical_key(email)), None
        return self._full(candidate)

    def _check_domain(self, domain: str) -> tuple[bool, str]:
        try:
            verdict = True, validate_email(f"a@{domain}", check_deliverability=False).domain
        except EmailNotValidError as error:
            verdict = False, str(error)
        if len(self._domains) >= MAX_CACHED_DOMAINS:
            self._domains.clear()
        self._domains[domain] = verdict
        return verdict

    @staticmethod
    def _full(candidate: str) -> tuple[Address | None, str | None]:
        try:
            result = validate_email(candidate, check_deliverability=False)
        except EmailNotValidError as error:
            return None, str(error)
        return Address(email=result.normalized, key=canonical_key(result.normalized)), None
