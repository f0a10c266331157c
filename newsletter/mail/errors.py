"""Why a message was not sent, sorted by what to do about it (after GOV.UK Notify)."""

from __future__ import annotations


class SmtpError(Exception):
    """Sending failed; the subclass says whether trying again can help."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentSmtpError(SmtpError):
    """The relay refused the message for good (5xx): do not retry it."""


class ThrottledSmtpError(SmtpError):
    """The relay asked us to slow down (421, 450, 451, 452): retry later, more slowly."""


class TransientSmtpError(SmtpError):
    """The connection failed or the relay answered 4xx: retry later."""


class InternationalAddressRefused(PermanentSmtpError):
    """The address has a non-ASCII local part and the relay does not offer SMTPUTF8."""

    def __init__(self) -> None:
        super().__init__("the relay does not accept international addresses")


class UnsendableMessage(PermanentSmtpError):
    """The message could not be built or handed over (a bug or bad data, not the relay).

    Permanent like a 5xx: the same data would fail the same way, so every caller that stops
    on a permanent refusal stops here too, and it is never retried.
    """
