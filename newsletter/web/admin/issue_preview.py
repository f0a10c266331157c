"""Admin pages: preview an issue as a chosen subscriber would get it, and test-send it."""

from __future__ import annotations

import email
from email import policy

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from newsletter.audit import record
from newsletter.compose.render import SAMPLE_EMAIL, SAMPLE_NAME, render_issue
from newsletter.delivery.message import TEST_TOKEN, IssueMessage
from newsletter.delivery.trial_send import request_test_send
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import IssueKind, Subscriber, Subscription, SubscriptionStatus
from newsletter.models.base import utcnow
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import TestSendForm
from newsletter.web.admin.issues import _issue_or_404, issue_page, size_warning
from newsletter.web.admin.limits import test_sends_limited
from newsletter.web.admin.lists import list_page
from newsletter.web.forms import show_error
from newsletter.web.headers import message_html_view
from newsletter.web.params import to_id

PREVIEW_CHOICES = 200


def preview_people(issue) -> list[Subscriber]:
    """Confirmed subscribers of the issue's lists to preview as (the first few hundred)."""
    on_lists = sa.select(Subscription.subscriber_id).where(
        Subscription.list_id.in_([ml.id for ml in issue.lists]),
        Subscription.status == SubscriptionStatus.CONFIRMED,
    )
    return list(
        db.session.scalars(
            sa.select(Subscriber)
            .where(Subscriber.id.in_(on_lists))
            .order_by(Subscriber.email)
            .limit(PREVIEW_CHOICES)
        )
    )


def _chosen(people: list[Subscriber]) -> Subscriber | None:
    wanted = request.args.get("subscriber", type=to_id)
    if wanted is None:
        return people[0] if people else None
    return next((p for p in people if p.id == wanted), None)


def preview_message(issue, person: Subscriber | None) -> email.message.EmailMessage:
    """The message exactly as the delivery engine builds it for `person` (or the sample).

    Its links carry no token: a click in the preview must not act for the person.
    """
    message = IssueMessage(issue, render_issue(issue), utcnow())
    name, address = (person.name or "", person.email) if person else (SAMPLE_NAME, SAMPLE_EMAIL)
    # As a relay offering SMTPUTF8 gets it, so an international address can be previewed too.
    raw = message.for_recipient("preview", address, name, TEST_TOKEN, None, smtputf8=True)
    return email.message_from_bytes(raw, policy=policy.default)


def _parts(message) -> tuple[str, str]:
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    return html, text


@bp.get("/issues/<int:issue_id>/preview")
def issues_preview(issue_id: int):
    issue = _issue_or_404(issue_id)
    people = preview_people(issue)
    person = _chosen(people)
    message = preview_message(issue, person)
    html, text = _parts(message)
    record("issue.previewed", target=f"issue:{issue.id}")
    db.session.commit()
    html_url = url_for(
        "admin.issues_preview_html", issue_id=issue.id, subscriber=person.id if person else None
    )
    return render_template(
        "admin/issue_preview.html",
        issue=issue,
        people=people,
        person=person,
        sample=(SAMPLE_NAME, SAMPLE_EMAIL),
        subject=str(message["Subject"]),
        text=text,
        html_url=html_url,
        html_kb=round(len(html.encode()) / 1024, 1),
        size_warning=size_warning(issue),
    )


@bp.get("/issues/<int:issue_id>/preview.html")
@message_html_view
def issues_preview_html(issue_id: int):
    issue = _issue_or_404(issue_id)
    people = preview_people(issue)
    html, _ = _parts(preview_message(issue, _chosen(people)))
    return Response(html, mimetype="text/html")


@bp.post("/issues/<int:issue_id>/test")
@test_sends_limited
def issues_test_send(issue_id: int):
    """Send the issue, marked [TEST], to the addresses typed, through a worker."""
    issue = _issue_or_404(issue_id)
    form = TestSendForm()
    if form.validate_on_submit():
        try:
            count = request_test_send(
                issue, form.addresses.data, current_user._get_current_object()
            )
        except ValidationError as error:
            show_error(form.addresses, str(error))
        else:
            noun = "address" if count == 1 else "addresses"
            flash(f"A test message is on its way to {count} {noun}.", "success")
            return redirect(url_for("admin.issues_show", issue_id=issue.id))
    if issue.kind == IssueKind.WELCOME:
        return list_page(issue.primary_list, test_form=form, status=422)
    return issue_page(issue, test_form=form, status=422)
