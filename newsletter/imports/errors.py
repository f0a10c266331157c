"""Errors an import can meet before it starts: a file we cannot read or understand."""

from newsletter.errors import NewsletterError


class ImportFileError(NewsletterError):
    """The file cannot be imported as it is (unreadable, no email column, wrong format)."""


class ImportBusyError(NewsletterError):
    """Another process is running the same import right now."""
