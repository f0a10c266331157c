"""Signing the secretariat in and out."""

# The views register themselves on the blueprint when imported.
from newsletter.web.auth import views  # noqa: F401
from newsletter.web.auth.blueprint import bp

__all__ = ["bp"]
