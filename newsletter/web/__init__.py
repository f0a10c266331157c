"""The web entry point: the blueprints (public pages, sign-in, admin, the API), headers,
error pages, and the benchmark's reference routes when BENCH_ROUTES is on."""

from flask import Flask

from newsletter import settings
from newsletter.compose.times import uk_date, uk_time
from newsletter.config import site_title
from newsletter.web import api, bench, errorpages, headers, params
from newsletter.web.admin import bp as admin_bp
from newsletter.web.auth import bp as auth_bp
from newsletter.web.public import bp as public_bp


def form_error_list(form) -> list[tuple[str, str]]:
    """(field id, first message) for each invalid field, for the error summary."""
    return [(form[name].id, messages[0]) for name, messages in form.errors.items() if messages]


def init_app(app: Flask) -> None:
    """Register the blueprints, the response headers, the error pages and template helpers."""
    params.init_app(app)
    headers.init_app(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/admin")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    api.init_app(app)
    app.jinja_env.globals["form_error_list"] = form_error_list
    app.jinja_env.filters["uk_time"] = uk_time
    app.jinja_env.filters["uk_date"] = uk_date
    errorpages.init_app(app)

    @app.before_request
    def current_settings() -> None:
        # The settings saved on /admin/settings, looked at every few seconds (newsletter.settings).
        settings.refresh(app)

    @app.context_processor
    def identity() -> dict[str, object]:
        return {"site_title": site_title(app.config)}

    if app.config.get("BENCH_ROUTES"):
        bench.init_app(app)

    @app.context_processor
    def admin_navigation() -> dict[str, object]:
        return {"admin_endpoints": set(app.view_functions)}
