"""Consent evidence: who, when, how, from where, and what they saw.

Every sign-up, confirmation, import, unsubscribe, preference change, bounce and complaint
appends a consent event; subscription status is derived from them. `record_consent` adds the
event to the session and its caller commits it with the change it records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from newsletter.extensions import db
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    ConsentWording,
    Issue,
    OptInLevel,
    Subscriber,
)
from newsletter.models.base import utcnow

_KNOWN_WORDINGS = "newsletter.known_consent_wordings"
# A form shows one wording per set of lists; this only bounds memory if lists churn.
_KNOWN_WORDINGS_MAX = 1000


@dataclass(frozen=True)
class Origin:
    """Where a consent action came from: page or command, and the requester's details."""

    source: str
    ip_address: str | None = None
    user_agent: str | None = None

    @classmethod
    def from_request(cls) -> Origin:
        """The current request's route, IP and user agent (unless recording them is off).

        The source is the route ("/confirm/<token>"), not the path: tokens in links are
        credentials (an unsubscribe token works for ever) and stay out of the evidence.
        """
        if not has_request_context():
            return cls(source="system")
        rule = request.url_rule
        source = rule.rule if rule is not None else request.path
        if not current_app.config.get("CONSENT_RECORD_REQUEST_DETAILS", True):
            return cls(source=source)
        agent = request.user_agent.string or None
        return cls(
            source=source,
            ip_address=request.remote_addr,
            user_agent=agent[:512] if agent else None,
        )


def wording_version(text: str) -> str:
    """The SHA-256 of `text`, stored once so the exact words can be shown later."""
    version = hashlib.sha256(text.encode()).hexdigest()
    # Wordings are never deleted, so one seen in the database stays there: each process looks
    # a version up once, not on every sign-up. Only versions read back are remembered, never
    # one merely added, whose transaction may still roll back.
    known = current_app.extensions.setdefault(_KNOWN_WORDINGS, set())
    if version in known:
        return version
    if db.session.get(ConsentWording, version) is None:
        db.session.merge(ConsentWording(version=version, text=text))
    elif len(known) < _KNOWN_WORDINGS_MAX:
        known.add(version)
    return version


def record_consent(
    subscriber: Subscriber,
    action: ConsentAction,
    method: ConsentMethod,
    origin: Origin,
    *,
    list_id: int | None = None,
    opt_in_level: OptInLevel | None = None,
    wording: str | None = None,
    occurred_at: datetime | None = None,
    detail: dict | None = None,
    **extra: object,
) -> ConsentEvent:
    """Append one consent event to the session; the caller commits with its change."""
    event = ConsentEvent(
        subscriber=subscriber,
        **event_values(
            action, method, origin, occurred_at or utcnow(),
            list_id=list_id, opt_in_level=opt_in_level,
            wording_version=wording_version(wording) if wording else None,
            detail=detail or {}, **extra,
        ),
    )  # fmt: skip
    db.session.add(event)
    return event


def event_values(
    action: ConsentAction,
    method: ConsentMethod,
    origin: Origin,
    occurred_at: datetime,
    **columns: object,
) -> dict[str, object]:
    """The columns of one consent event, for the ORM or a Core INSERT of many."""
    return {
        "action": action,
        "method": method,
        "occurred_at": occurred_at,
        "source": origin.source[:200],
        "ip_address": origin.ip_address,
        "user_agent": origin.user_agent,
        "detail": {},
        **columns,
    }


# Suppression reasons in words, for the consent history and the subscriber pages.
# A suppression reason in words: the one vocabulary of the admin's suppression list, a
# person's page and the consent history.
REASON_WORDS = {
    "left_all": "unsubscribed from every list",
    "hard_bounce": "hard bounce: the receiving server said the mailbox does not exist",
    "soft_bounces": (
        "repeated soft bounces: the mailbox was full or unavailable for issue after issue"
    ),
    "complaint": "complaint: marked as spam",
    "erased": "erased on request",
    "imported_unsubscribed": "imported as unsubscribed",
    "imported_cleaned": "imported as cleaned: the old system had stopped mailing it after bounces",
    "imported_blocklisted": "imported as blocklisted by the old system",
    "manual": "suppressed by hand in the admin",
}

_SYSTEMS = {"mailchimp": "Mailchimp", "listmonk": "listmonk", "mailman": "Mailman", "csv": "CSV"}
_JOIN_BY = {
    ConsentMethod.CONFIRM_LINK: "by the link in the confirmation email",
    ConsentMethod.PREFERENCES: "on their preferences page",
    ConsentMethod.ADMIN: "by an administrator",
}


def reason_words(reason: object) -> str:
    """A suppression reason ("hard_bounce") as words ("hard bounce: the receiving server …")."""
    value = getattr(reason, "value", reason)
    return REASON_WORDS.get(str(value), str(value).replace("_", " "))


def describe_event(
    event: ConsentEvent,
    *,
    issues: Mapping[int, str] | None = None,
    accounts: Mapping[int, str] | None = None,
) -> str:
    """One consent event as a plain-English sentence, for people rather than auditors.

    `issues` maps issue ids to subjects and `accounts` account ids to addresses (looked up by
    the caller, once for a whole history); without them an issue is named by its number. The
    stored fields stay as they are: the sentence is only how they read.
    """
    action, method = ConsentAction(event.action), ConsentMethod(event.method)
    detail = event.detail or {}
    source = event.source or ""
    issue_id = detail.get("issue_id")
    issue = ""
    if isinstance(issue_id, int):
        subject = (issues or {}).get(issue_id)
        issue = f"the issue ‘{subject}’" if subject else f"issue {issue_id}"
    account = (accounts or {}).get(event.account_id) if event.account_id else None
    by = f" by {account}" if account else ""

    if action == ConsentAction.REQUESTED:
        if method == ConsentMethod.FORM:
            return f"signed up on the form at {_page(source)}"
        return f"asked to join ({_words(method)})"
    if action in (ConsentAction.CONFIRMED, ConsentAction.RESUBSCRIBED):
        again = " again" if action == ConsentAction.RESUBSCRIBED else ""
        if method == ConsentMethod.CONFIRM_LINK:
            verb = "joined again" if again else "confirmed"
            return f"{verb} by the link in the confirmation email"
        if method == ConsentMethod.FORM:
            return f"joined{again} on the form at {_page(source)} (single opt-in)"
        if method in _JOIN_BY:
            return f"joined{again} {_JOIN_BY[method]}{by}"
        return f"joined{again} ({_words(method)})"
    if action == ConsentAction.IMPORTED:
        return f"imported{_import_origin(event, source)}{by}{_level(event)}"
    if action == ConsentAction.UNSUBSCRIBED:
        return _unsubscribed(method, source, issue, by, event, detail)
    if action == ConsentAction.PREFERENCES_CHANGED:
        changed = " and ".join(str(c) for c in detail.get("changed", [])) or "their details"
        where = "on their preferences page" if method == ConsentMethod.PREFERENCES else ""
        return " ".join(part for part in (f"changed their {changed}", where) if part)
    if action == ConsentAction.BOUNCED:
        if source == "smtp" and not issue:
            return "the receiving mail server refused the address (the mailbox does not exist)"
        kind = {"hard": "a permanent bounce", "soft": "a temporary bounce"}.get(
            str(detail.get("kind")), "a bounce"
        )
        status = f", status {detail['status']}" if detail.get("status") else ""
        return f"{issue or 'an email'} came back: {kind}{status}"
    if action == ConsentAction.COMPLAINED:
        return f"reported {issue or 'an email'} as spam"
    if action == ConsentAction.SUPPRESSION_LIFTED:
        reasons = ", ".join(reason_words(r) for r in detail.get("reasons", [])) or "suppression"
        if method == ConsentMethod.ADMIN:
            why = f": “{detail['why']}”" if detail.get("why") else ""
            return f"suppression ({reasons}) removed{by or ' by an administrator'}{why}"
        how = _JOIN_BY.get(method, f"({_words(method)})")
        return f"suppression ({reasons}) lifted by opting in again {how}"
    return f"{_words(action)} ({_words(method)})"


def describe_events(
    events: Sequence[ConsentEvent], title: Callable[[Issue], str] | None = None
) -> list[str]:
    """`describe_event` for each of a person's events, with the issues and accounts they name
    looked up in two queries. `title` gives an issue's name as the sentence shows it (the
    admin passes the public title, so that no raw `{{ subscriber.name }}` shows); without it,
    the subject as written."""
    issue_ids = {e.detail.get("issue_id") for e in events if isinstance(e.detail, dict)}
    issue_ids = {i for i in issue_ids if isinstance(i, int)}
    account_ids = {e.account_id for e in events if e.account_id}
    issues: dict[int, str] = {}
    accounts: dict[int, str] = {}
    if issue_ids:
        found = db.session.scalars(sa.select(Issue).where(Issue.id.in_(issue_ids)))
        issues = {issue.id: title(issue) if title else issue.subject for issue in found}
    if account_ids:
        query = sa.select(Account.id, Account.email).where(Account.id.in_(account_ids))
        accounts = {row.id: row.email for row in db.session.execute(query)}
    return [describe_event(e, issues=issues, accounts=accounts) for e in events]


def _page(source: str) -> str:
    """A form's page as its path, never a route pattern with `<token>` in it."""
    return source.split("/<")[0] if source.startswith("/") else "/subscribe"


def _words(value: str) -> str:
    return str(value).replace("_", " ")


def _level(event: ConsentEvent) -> str:
    level = {
        OptInLevel.CONFIRMED: " as a confirmed (double) opt-in",
        OptInLevel.SINGLE: " as a single opt-in",
    }
    return level.get(OptInLevel(event.opt_in_level), "") if event.opt_in_level else ""


def _import_origin(event: ConsentEvent, source: str) -> str:
    system = _SYSTEMS.get(event.source_system or "", event.source_system or "")
    named = " ".join(part for part in (system, source) if part)
    return f" from {named}" if named else ""


def _unsubscribed(
    method: ConsentMethod, source: str, issue: str, by: str, event: ConsentEvent, detail: dict
) -> str:
    from_issue = f" from {issue}" if issue else ""
    if method == ConsentMethod.ONE_CLICK:
        if source == "List-Unsubscribe mailto":
            return f"unsubscribed by email (the List-Unsubscribe address){from_issue}"
        return f"unsubscribed with one click{from_issue or ' from an email'}"
    if method == ConsentMethod.UNSUBSCRIBE_PAGE:
        return f"unsubscribed on the unsubscribe page{from_issue}"
    if method == ConsentMethod.PREFERENCES:
        return "left the list on their preferences page"
    if method == ConsentMethod.ADMIN:
        return f"unsubscribed by hand{by or ' by an administrator'}"
    if method == ConsentMethod.IMPORT:
        return f"imported as unsubscribed{_import_origin(event, source)}{by}"
    if method == ConsentMethod.COMPLAINT:
        return f"left every list after a spam complaint{' about ' + issue if issue else ''}"
    if method == ConsentMethod.BOUNCE:
        return "unsubscribed because the address bounced"
    return f"unsubscribed ({_words(method)})"
