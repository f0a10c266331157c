"""Registers the blueprints: the public pages, sign-in, and the admin."""

from flask import Flask


def init_app(app: Flask) -> None:
    from newsletter.admin import bp as admin_bp
    from newsletter.auth import bp as auth_bp
    from newsletter.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/admin")
    app.register_blueprint(admin_bp, url_prefix="/admin")
