"""The secretariat's admin: every view needs a signed-in account."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from newsletter.admin import accounts, audit, dashboard, issues, lists, outbox  # noqa: E402, F401
