"""Flask extensions, created unbound and bound to an app in create_app."""

import ipaddress
import sqlite3
from pathlib import Path
from typing import cast

import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from werkzeug.local import LocalProxy

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Named constraints so that Alembic migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def client_network(remote_addr: str | None) -> str:
    """The network a per-address rate limit counts a client by.

    An IPv4 address is counted alone; an IPv6 client by its /64, the smallest allocation an
    ISP or host gives one customer, so rotating addresses inside it does not reset a limit;
    an IPv4-mapped IPv6 address (::ffff:a.b.c.d, from a dual-stack socket) as its IPv4
    address. Anything that is no IP address (a unix socket's peer) is counted as given.
    """
    if not remote_addr:
        return "unknown"
    try:
        ip = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))


def network_key() -> str:
    """The rate-limit key of the requesting client's network (see `client_network`).

    The one key of every per-network-address limit: the limiter's default below, and the
    sign-up form's own count. `request.remote_addr` is the visitor's address behind
    `PROXY_COUNT` trusted proxies (ProxyFix in create_app).
    """
    return client_network(request.remote_addr)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=network_key, default_limits=[])


@sa.event.listens_for(Engine, "connect")
def _overwrite_deleted_rows(dbapi_connection, _connection_record) -> None:
    """SQLite zeroes what a DELETE or UPDATE frees (`secure_delete`), so an erased person's
    address does not stay readable in the database file's free pages; and lowers text as
    PostgreSQL does (below)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA secure_delete = ON")
        # SQLite's own lower() changes only A to Z, so a search for "Ελένη" or "Ñandú" found
        # nobody named so; Python's lower() is what PostgreSQL's does in a UTF-8 database.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(text: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return text.lower() if isinstance(text, str) else text


def init_app(app) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.login_message_category = "info"


def current_app_object() -> Flask:
    """The app behind `current_app`, for threads and servers that outlive the app context.

    Flask types `current_app` as the app itself; it is a werkzeug proxy to it.
    """
    return cast("LocalProxy[Flask]", current_app)._get_current_object()
