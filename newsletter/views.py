"""Registers the blueprints (public pages, sign-in, admin) and the template helpers."""

from flask import Flask


def form_error_list(form) -> list[tuple[str, str]]:
    """(field id, first message) for each invalid field, for the error summary."""
    return [(form[name].id, messages[0]) for name, messages in form.errors.items() if messages]


def init_app(app: Flask) -> None:
    from newsletter.admin import bp as admin_bp
    from newsletter.auth import bp as auth_bp
    from newsletter.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/admin")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.jinja_env.globals["form_error_list"] = form_error_list
    from newsletter.compose.schedule import uk_time

    app.jinja_env.filters["uk_time"] = uk_time

    from newsletter import errorpages

    errorpages.init_app(app)

    @app.context_processor
    def admin_navigation() -> dict[str, object]:
        return {"admin_endpoints": set(app.view_functions)}
