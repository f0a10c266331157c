"""Running a command inside the app's context, on a database schema that is up to date."""

from __future__ import annotations

from functools import wraps
from typing import cast

from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.local import LocalProxy

from newsletter.models.schema import prepare_schema


def current_app_object() -> Flask:
    """The app behind `current_app`, for threads and servers that outlive the app context.

    Flask types `current_app` as the app itself; it is a werkzeug proxy to it.
    """
    return cast("LocalProxy[Flask]", current_app)._get_current_object()


def needs_schema(command):
    """Run the command in the app context, after bringing an embedded (SQLite) database up to
    date or refusing to run on an old schema elsewhere."""

    @wraps(command)
    @with_appcontext
    def wrapper(*args, **kwargs):
        prepare_schema(current_app_object())
        return command(*args, **kwargs)

    return wrapper
