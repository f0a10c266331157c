"""Running a command inside the app's context, on a database schema that is up to date."""

from __future__ import annotations

from functools import wraps

from flask.cli import with_appcontext

from newsletter.extensions import current_app_object
from newsletter.models.schema import prepare_schema
from newsletter.settings import refresh


def needs_schema(command):
    """Run the command in the app context, after bringing an embedded (SQLite) database up to
    date or refusing to run on an old schema elsewhere."""

    @wraps(command)
    @with_appcontext
    def wrapper(*args, **kwargs):
        app = current_app_object()
        prepare_schema(app)
        refresh(app, force=True)
        return command(*args, **kwargs)

    return wrapper
