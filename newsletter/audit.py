"""The audit log: who did what and when, written by the domain functions."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from newsletter.extensions import db
from newsletter.models import Account, AuditEvent

# Who does something: an account, a label such as "cli" or "scheduler", or None for the
# signed-in account.
Actor = Account | str | None


def _current_account() -> Account | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def record(
    action: str,
    target: str = "",
    detail: dict | None = None,
    actor: Actor = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with its own change).

    `actor` is an account, a label such as "cli", or None for the signed-in account.
    """
    account = actor if isinstance(actor, Account) else _current_account()
    if isinstance(actor, str):
        label = actor
    elif account is not None:
        label = account.email
    else:
        label = "system"
    event = AuditEvent(
        account_id=account.id if account is not None else None,
        actor=label,
        action=action,
        target=target,
        detail=detail or {},
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
