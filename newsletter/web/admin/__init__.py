"""The secretariat's admin: every view needs a signed-in account."""

# Each page module registers its views on the blueprint when imported.
from newsletter.web.admin import (  # noqa: F401
    accounts,
    api_tokens,
    audit,
    dashboard,
    imports,
    issue_confirm,
    issue_preview,
    issues,
    lists,
    outbox,
    settings,
    subscribers,
    suppressions,
    webhooks,
    welcome,
)
from newsletter.web.admin.blueprint import bp

__all__ = ["bp"]
