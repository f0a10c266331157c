"""The public front door, the privacy notice and the accessibility statement."""

from pathlib import Path

from flask import current_app, render_template
from markupsafe import Markup

from newsletter.compose import archive
from newsletter.compose.render import web_subject
from newsletter.web.public.blueprint import bp

# Issues the home page lists; the archive has them all.
HOME_ISSUES = 3


def _operator_text(setting: str) -> Markup | None:
    """An HTML fragment the operator keeps in a file (their own words, so trusted)."""
    path = current_app.config.get(setting)
    return Markup(Path(path).read_text(encoding="utf-8")) if path else None


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html", notice=_operator_text("PRIVACY_NOTICE_FILE"))


@bp.get("/accessibility")
def accessibility():
    return render_template(
        "public/accessibility.html", statement=_operator_text("ACCESSIBILITY_STATEMENT_FILE")
    )


@bp.get("/")
def home():
    """The front door: sign up (the main action), and the latest issues with the archive."""
    latest = archive.archived_issues(HOME_ISSUES)
    return render_template(
        "public/home.html", entries=[(issue, web_subject(issue)) for issue in latest]
    )
