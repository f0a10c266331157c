"""Pages anyone may open."""

from flask import Blueprint

bp = Blueprint("public", __name__)


from newsletter.public import archive, confirm, health, pages, preferences, signup  # noqa: E402, F401
