"""Pages anyone may open."""

# Each page module registers its views on the blueprint when imported.
from newsletter.web.public import (  # noqa: F401
    archive,
    confirm,
    embed,
    health,
    pages,
    preferences,
    signup,
    unsubscribe,
)
from newsletter.web.public.blueprint import bp

__all__ = ["bp"]
