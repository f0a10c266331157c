"""Static public pages: the privacy notice and the accessibility statement."""

from pathlib import Path

from flask import current_app, render_template
from markupsafe import Markup

from newsletter.web.public.blueprint import bp


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
