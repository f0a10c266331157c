"""The secretariat's admin: every view needs a signed-in account."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from newsletter.admin import (  # noqa: E402, F401
    accounts,
    audit,
    dashboard,
    imports,
    issue_preview,
    issues,
    lists,
    outbox,
    subscribers,
    suppressions,
)
