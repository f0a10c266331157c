"""newsletter: a self-hosted mailing-list and newsletter manager."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from newsletter import logs
from newsletter.config import instance_dir, load_config, static_defaults

PACKAGE_DIR = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """The checkout's top-level templates/, or the copy a wheel carries inside the package."""
    checkout = PACKAGE_DIR.parent / "templates"
    return checkout if checkout.is_dir() else PACKAGE_DIR / "templates"


def create_app(config: Mapping[str, object] | None = None, create_instance: bool = True) -> Flask:
    """Build the Flask app; `config` overrides what the environment says. Without
    `create_instance`, an embedded instance folder that is missing is not made (config.py)."""
    logs.install()
    app = Flask(
        __name__,
        template_folder=str(templates_dir()),
        static_folder=str(PACKAGE_DIR / "static"),
        instance_path=str(instance_dir()),
    )
    app.config.update(static_defaults())
    if config is None or "SQLALCHEMY_DATABASE_URI" not in config:
        app.config.update(load_config(create_instance=create_instance))
    app.config.update(config or {})
    app.config["SESSION_COOKIE_SECURE"] = str(app.config.get("BASE_URL") or "").startswith(
        "https://"
    )
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")

    # Imported here, not at the top: every `import newsletter.…` runs this file first, and the
    # web and CLI import nearly every module, which would then import this package again.
    from newsletter import cli, extensions, models, web  # noqa: F401  (tables register)

    if app.config.get("PROXY_COUNT"):
        # Behind N reverse proxies, take the client address and scheme from their headers,
        # so that rate limits and consent evidence see the visitor, not the proxy.
        count = int(app.config["PROXY_COUNT"])
        # Flask's documented way to add WSGI middleware; mypy takes wsgi_app for a method only.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count
        )
    extensions.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app
