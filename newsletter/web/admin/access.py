"""Who may open which admin page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from newsletter.compose.issues import may_send


def admin_required(view: Callable) -> Callable:
    """Let only admins through; editors get the friendly 403 page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def send_permission_required(view: Callable) -> Callable:
    """Sending, scheduling, pausing and cancelling: admins, and editors if an admin allows it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or not may_send(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper
