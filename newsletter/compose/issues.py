"""Newsletter issues as drafts: create, edit, check, and who may send.

Sending, pausing, resuming, cancelling and progress are the delivery engine's
(newsletter/delivery/control.py), scheduling is in newsletter/delivery/scheduling.py. Functions
here commit and write the audit log; the CLI and the admin call them.
Status only moves forward: draft ⇄ scheduled → sending ⇄ paused → sent, or cancelled from any
unfinished state (cancelling a schedule is the one step back, to draft).
"""

from __future__ import annotations

import sqlalchemy as sa

from newsletter.audit import Actor, record
from newsletter.compose.placeholders import check_template
from newsletter.compose.render import LAYOUTS
from newsletter.errors import NewsletterError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.keys import get_setting, set_setting
from newsletter.lists import get_list
from newsletter.models import Account, Issue, IssueKind, IssueList, IssueStatus
from newsletter.models.base import changed_rows, get_by_id

MAX_SUBJECT_LENGTH = 255
MAX_PREHEADER_LENGTH = 255
EDITABLE = (IssueStatus.DRAFT, IssueStatus.SCHEDULED)
# A welcome message is edited in place whether it is on (sending) or off (paused): each batch
# renders it afresh, so an edit reaches the next person welcomed.
WELCOME_EDITABLE = (IssueStatus.DRAFT, IssueStatus.SENDING, IssueStatus.PAUSED)
# app_setting key: "1" lets editors send, schedule, pause and cancel as admins do.
EDITORS_MAY_SEND = "editors_may_send"


class IssueStateError(NewsletterError):
    """The action does not fit the issue's current state."""


class SendRightRequired(NewsletterError):
    """The action changes what goes out on its own, and the account may not send."""


SCHEDULED_NEEDS_SEND_RIGHT = (
    "this issue is scheduled: only someone who may send issues can change it "
    "(ask an admin to cancel the schedule, then edit the draft)"
)
WELCOME_NEEDS_SEND_RIGHT = (
    "this welcome message is on: only someone who may send issues can change it "
    "(ask an admin to turn it off, then edit it)"
)


def editable_states(issue: Issue) -> tuple[IssueStatus, ...]:
    """The statuses in which the issue's words may still change."""
    return WELCOME_EDITABLE if issue.kind == IssueKind.WELCOME else EDITABLE


def goes_out_unseen(issue: Issue, status: IssueStatus) -> bool:
    """True when an edit in `status` changes what goes out with nobody looking again."""
    if issue.kind == IssueKind.WELCOME:
        return status == IssueStatus.SENDING
    return status == IssueStatus.SCHEDULED


def needs_send_right_sentence(issue: Issue) -> str:
    if issue.kind == IssueKind.WELCOME:
        return WELCOME_NEEDS_SEND_RIGHT
    return SCHEDULED_NEEDS_SEND_RIGHT


def audit_refused_update(issue: Issue, actor: Actor) -> None:
    """Audit (and commit) an attempt to change a scheduled issue by an account that may not
    send: an editor probing for a way to change what goes out is worth seeing."""
    record(
        "issue.update_refused",
        target=f"issue:{issue.id}",
        detail={"status": issue.status.value, "why": "no right to send"},
        actor=actor,
    )
    db.session.commit()


def move(issue: Issue, allowed: tuple[IssueStatus, ...], refusal: str, **values) -> None:
    """Set `values` on the issue if its status is one of `allowed`, else refuse.

    A conditional UPDATE, so two clicks or two processes cannot both make the same move. A
    refusal rolls back and raises IssueStateError "issue N is <its status now><refusal>".
    """
    moved = db.session.execute(
        sa.update(Issue).where(Issue.id == issue.id, Issue.status.in_(allowed)).values(**values)
    )
    if changed_rows(moved) != 1:
        db.session.rollback()
        db.session.refresh(issue)
        raise IssueStateError(f"issue {issue.id} is {issue.status.value}{refusal}")


def check_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError("Enter a subject")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ValidationError(f"Subject must be {MAX_SUBJECT_LENGTH} characters or fewer")
    return subject


def check_preheader(preheader: str) -> str:
    preheader = " ".join((preheader or "").split())
    if len(preheader) > MAX_PREHEADER_LENGTH:
        raise ValidationError(f"Preheader must be {MAX_PREHEADER_LENGTH} characters or fewer")
    return preheader


def check_content(subject: str, body_markdown: str) -> None:
    """Refuse a subject or body that uses anything but the fixed placeholders."""
    check_template(subject, "Subject")
    check_template(body_markdown or "", "Body")


def _issue_lists(list_slugs: list[str]) -> list[IssueList]:
    slugs = list(dict.fromkeys(list_slugs))
    if not slugs:
        raise ValidationError("Choose at least one list")
    lists = [get_list(slug) for slug in slugs]
    return [IssueList(list_id=ml.id, mailing_list=ml, position=n) for n, ml in enumerate(lists)]


def _check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise ValidationError("Choose a layout")
    return layout


def create_issue(
    subject: str,
    body_markdown: str,
    list_slugs: list[str],
    actor: Actor,
    preheader: str = "",
    layout: str = "default",
) -> Issue:
    """A draft issue for the lists named, in order (the first is the primary list)."""
    subject = check_subject(subject)
    check_content(subject, body_markdown)
    issue = Issue(
        subject=subject,
        body_markdown=body_markdown or "",
        preheader=check_preheader(preheader),
        layout=_check_layout(layout),
        created_by_id=actor.id if isinstance(actor, Account) else None,
        issue_lists=_issue_lists(list_slugs),
    )
    db.session.add(issue)
    db.session.flush()
    slugs = [link.mailing_list.slug for link in issue.issue_lists]
    record("issue.created", target=f"issue:{issue.id}", detail={"lists": slugs}, actor=actor)
    db.session.commit()
    return issue


def update_issue(
    issue: Issue,
    subject: str,
    body_markdown: str,
    list_slugs: list[str],
    actor: Actor,
    preheader: str = "",
    layout: str = "default",
) -> Issue:
    """Change a draft (or scheduled) issue; refused once sending has started.

    A scheduled issue goes out at its time with nobody looking again, so changing it is
    sending: an account without the right to send gets SendRightRequired (the CLI, a trusted
    operator, may). Checked on the locked row, so a schedule set while the form was open
    counts.
    """
    subject = check_subject(subject)
    check_content(subject, body_markdown)
    welcome = issue.kind == IssueKind.WELCOME
    # A welcome message belongs to its list for good, whatever a form says.
    links = None if welcome else _issue_lists(list_slugs)
    preheader, layout = check_preheader(preheader), _check_layout(layout)
    # Lock the row for the edit, so a send starting at the same moment waits or wins first.
    current = db.session.execute(
        sa.select(Issue.status).where(Issue.id == issue.id).with_for_update()
    ).scalar_one()
    if current not in editable_states(issue):
        db.session.rollback()
        raise IssueStateError(f"issue {issue.id} is {current.value}; only a draft can be changed")
    if goes_out_unseen(issue, current) and isinstance(actor, Account) and not may_send(actor):
        db.session.rollback()
        audit_refused_update(issue, actor)
        raise SendRightRequired(needs_send_right_sentence(issue))
    issue.subject, issue.body_markdown = subject, body_markdown or ""
    issue.preheader, issue.layout = preheader, layout
    if links is not None:
        issue.issue_lists.clear()
        db.session.flush()
        issue.issue_lists.extend(links)
    detail: dict[str, object] = {"lists": [ml.slug for ml in issue.lists]}
    if current == IssueStatus.SCHEDULED and issue.scheduled_at is not None:
        # Said in the log: this edit changed what goes out at the time shown, unseen again.
        detail |= {"status": current.value, "scheduled_at": issue.scheduled_at.isoformat()}
    record("issue.updated", target=f"issue:{issue.id}", detail=detail, actor=actor)
    db.session.commit()
    return issue


def get_issue(issue_id: int) -> Issue:
    issue = get_by_id(Issue, issue_id)
    if issue is None:
        raise NotFoundError(f"no issue with the id {issue_id}")
    return issue


def all_issues() -> list[Issue]:
    """The newsletters, newest first (reconfirmations live on their import's page)."""
    return list(
        db.session.scalars(
            sa.select(Issue).where(Issue.kind == IssueKind.ISSUE).order_by(Issue.id.desc())
        )
    )


def editors_may_send() -> bool:
    return get_setting(EDITORS_MAY_SEND) == "1"


def set_editors_may_send(allowed: bool, actor: Actor) -> None:
    """Let editors (or only admins) send, schedule, pause and cancel."""
    record("settings.editors_may_send", detail={"allowed": allowed}, actor=actor)
    set_setting(EDITORS_MAY_SEND, "1" if allowed else "0")


def may_send(account: Account) -> bool:
    """True when the account may send, schedule, pause, resume and cancel issues."""
    return account.is_admin or editors_may_send()


def may_edit(issue: Issue, account: Account) -> bool:
    """True when the account may change the issue: a draft, or a scheduled one if it may send
    (a welcome message: off, or on if it may send)."""
    if issue.status not in editable_states(issue):
        return False
    return not goes_out_unseen(issue, issue.status) or may_send(account)


def duplicate_issue(issue: Issue, actor: Actor) -> Issue:
    """A new draft with the issue's subject, preheader, body, lists and layout (audited).

    Any issue can be copied, sent or not; a reconfirmation cannot (nobody composes one).
    """
    if issue.kind != IssueKind.ISSUE:
        raise IssueStateError(f"issue {issue.id} is a confirmation request and cannot be copied")
    copy = Issue(
        subject=issue.subject,
        body_markdown=issue.body_markdown,
        preheader=issue.preheader,
        layout=issue.layout,
        created_by_id=actor.id if isinstance(actor, Account) else None,
        issue_lists=[
            IssueList(list_id=link.list_id, mailing_list=link.mailing_list, position=n)
            for n, link in enumerate(issue.issue_lists)
        ],
    )
    db.session.add(copy)
    db.session.flush()
    record(
        "issue.duplicated",
        target=f"issue:{copy.id}",
        detail={"from": issue.id},
        actor=actor,
    )
    db.session.commit()
    return copy
