"""The public front door, the privacy notice, the accessibility statement and the favicon."""

from pathlib import Path

from flask import Response, current_app, render_template, request
from markupsafe import Markup
from werkzeug.wrappers import Response as ResponseBase

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


# A day: browsers ask for /favicon.ico on every site whatever the page links, so it is answered
# (never a 404 in the log) and cached; pages link the SVG too. Both come from memory: a browser
# fetches the icon after the page and drops the request when it moves on, and a file being
# streamed then would be left open.
FAVICON_MAX_AGE = 86_400
_ICONS = {"favicon.ico": "image/vnd.microsoft.icon", "favicon.svg": "image/svg+xml"}


def _icon(name: str) -> ResponseBase:
    """The icon from memory (read once per process), cached, with an ETag to revalidate."""
    key = f"newsletter.{name}"
    icon = current_app.extensions.get(key)
    if icon is None:
        assert current_app.static_folder is not None  # set by create_app
        icon = (Path(current_app.static_folder) / name).read_bytes()
        current_app.extensions[key] = icon
    response = Response(icon, mimetype=_ICONS[name])
    response.cache_control.public = True
    response.cache_control.max_age = FAVICON_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/favicon.ico")
def favicon() -> ResponseBase:
    return _icon("favicon.ico")


@bp.get("/favicon.svg")
def favicon_svg() -> ResponseBase:
    return _icon("favicon.svg")


@bp.get("/")
def home():
    """The front door: sign up (the main action), and the latest issues with the archive."""
    latest = archive.archived_issues(HOME_ISSUES)
    return render_template(
        "public/home.html", entries=[(issue, web_subject(issue)) for issue in latest]
    )
