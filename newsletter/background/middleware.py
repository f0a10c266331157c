"""Dramatiq middleware that runs every actor inside the Flask app's context."""

from __future__ import annotations

import threading

from dramatiq import Middleware
from flask import Flask

from newsletter.extensions import db
from newsletter.settings import refresh


class AppContextMiddleware(Middleware):
    """Push an app context before each message and tear it down (and the session) after."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._local = threading.local()

    def before_process_message(self, broker, message) -> None:
        context = self.app.app_context()
        context.push()
        self._local.context = context
        # The organisation's settings saved in the admin reach each message within seconds.
        refresh(self.app)

    def after_process_message(self, broker, message, *, result=None, exception=None) -> None:
        context = getattr(self._local, "context", None)
        if context is None:
            return
        db.session.remove()
        context.pop()
        self._local.context = None

    after_skip_message = after_process_message
