"""Sign-in views (placeholder until accounts land)."""

from newsletter.auth import bp


@bp.get("/login")
def login():
    return "sign in"
