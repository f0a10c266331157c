"""The exceptions a user can cause; each carries a sentence fit to show them."""


class NewsletterError(Exception):
    """Base of every error whose message is meant for a person, not a log."""


class ConfigError(NewsletterError):
    """A setting in the environment is missing or malformed."""


class SchemaBehindError(NewsletterError):
    """The database schema is older than the code."""


class NotFoundError(NewsletterError):
    """A named thing (list, account, issue) does not exist."""


class ConflictError(NewsletterError):
    """The thing being created exists already."""


class ValidationError(NewsletterError):
    """Input that cannot be accepted as it is."""
