"""Admin pages: finding subscribers, one person's record, and their rights (export, erasure)."""

from __future__ import annotations

import io
import json
from itertools import islice

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from newsletter import rights, spreadsheet, suppression
from newsletter.background.erasure import erase_person
from newsletter.compose.render import web_subject
from newsletter.consent import Origin, describe_events, reason_words
from newsletter.errors import NewsletterError, ValidationError
from newsletter.extensions import db
from newsletter.lists import get_list
from newsletter.models import (
    Delivery,
    Issue,
    MailingList,
    Subscriber,
    SubscriptionStatus,
)
from newsletter.subscriptions import audience
from newsletter.subscriptions.unsubscribe import unsubscribe_by_admin
from newsletter.suppression.manual import lift_for_subscriber
from newsletter.web.admin.access import admin_required
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.forms import ConfirmForm, ReasonForm
from newsletter.web.params import to_id

DELIVERIES_SHOWN = 50


def _subscriber_or_404(subscriber_id: int) -> Subscriber:
    return db.get_or_404(Subscriber, subscriber_id)


def _actor():
    return current_user._get_current_object()


# Not a subscription's status but the person's: a reason on the suppression list stands.
SUPPRESSED = "suppressed"
STATUS_CHOICES = [
    ("", "Any status"),
    ("confirmed", "Confirmed"),
    ("pending", "Pending (not yet confirmed)"),
    ("unsubscribed", "Unsubscribed"),
    (SUPPRESSED, "Suppressed (not mailed at all)"),
]
_STATUSES = {status.value for status in SubscriptionStatus}
_SORTS = {sort.value for sort in audience.Sort}
SORT_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("address", "By address (A to Z)"),
]


def _filters() -> tuple[audience.Filters, list[tuple[str, str]], MailingList | None]:
    """The page's filters from its query string; unknown values are ignored, not errors."""
    args = request.args
    lists = db.session.scalars(sa.select(MailingList).order_by(MailingList.name)).all()
    chosen = next((ml for ml in lists if ml.slug == args.get("list")), None)
    status = args.get("status", "")
    sort = args.get("sort", "")
    filters = audience.Filters(
        term=args.get("q", ""),
        list_id=chosen.id if chosen else None,
        status=SubscriptionStatus(status) if status in _STATUSES else None,
        sort=audience.Sort(sort) if sort in _SORTS else audience.Sort.NEWEST,
        suppressed=status == SUPPRESSED,
    )
    return filters, [(ml.slug, ml.name) for ml in lists], chosen


def _status_value(filters: audience.Filters) -> str:
    """The status menu's value for `filters`: a subscription status, "suppressed" or ""."""
    if filters.suppressed:
        return SUPPRESSED
    return filters.status.value if filters.status else ""


@bp.get("/subscribers")
def subscribers_index():
    filters, lists, chosen = _filters()
    after = request.args.get("after", type=to_id)
    error, page, count = None, None, None
    standings: dict[int, list] = {}
    suppressed: dict[str, list[str]] = {}
    try:
        page = audience.find_subscribers(filters, after)
        count = audience.count_subscribers(filters)
    except ValidationError as exc:
        error = str(exc)
    if page is not None:
        standings = audience.standings([row.id for row in page.rows])
        suppressed = {
            key: [reason_words(r) for r in reasons]
            for key, reasons in audience.suppressed_reasons(
                [row.email_key for row in page.rows]
            ).items()
        }
    query = {
        "q": " ".join(filters.term.split()) or None,
        "list": chosen.slug if chosen else None,
        "status": _status_value(filters) or None,
        "sort": filters.sort.value if filters.sort != audience.Sort.NEWEST else None,
    }
    return render_template(
        "admin/subscribers.html",
        term=filters.term,
        filters=filters,
        lists=lists,
        chosen=chosen,
        statuses=STATUS_CHOICES,
        status=_status_value(filters),
        sorts=SORT_CHOICES,
        query=query,
        page=page,
        count=count,
        standings=standings,
        suppressed=suppressed,
        error=error,
        paged=after,
    ), (422 if error else 200)


@bp.get("/subscribers/<int:subscriber_id>")
def subscribers_show(subscriber_id: int):
    subscriber = _subscriber_or_404(subscriber_id)
    rows = db.session.execute(
        sa.select(Delivery, Issue)
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id.desc())
        .limit(DELIVERIES_SHOWN)
    ).all()
    # Each issue by its public title: no raw placeholder, no other person's name.
    deliveries = [(delivery, web_subject(issue), issue.kind) for delivery, issue in rows]
    entry = suppression.find_entry(subscriber.email_key)
    active = [s for s in subscriber.subscriptions if s.status != SubscriptionStatus.UNSUBSCRIBED]
    return render_template(
        "admin/subscriber_show.html",
        subscriber=subscriber,
        history=_history(subscriber),
        active=active,
        reasons=[reason_words(r) for r in entry.active_reasons] if entry else [],
        deliveries=deliveries,
        bounces=rights.subscriber_bounces(subscriber.id),
        entry=entry,
        form=ConfirmForm(),
        reason_form=ReasonForm(),
    )


def _history(subscriber: Subscriber) -> list[tuple]:
    """The person's consent events, oldest first, each with its sentence and its list's name."""
    events = subscriber.consent_events
    list_ids = {e.list_id for e in events if e.list_id}
    names: dict[int, str] = {}
    if list_ids:
        query = sa.select(MailingList.id, MailingList.name).where(MailingList.id.in_(list_ids))
        names = {row.id: row.name for row in db.session.execute(query)}
    sentences = describe_events(events, title=web_subject)
    return [
        (e, sentence, names.get(e.list_id or 0, ""))
        for e, sentence in zip(events, sentences, strict=True)
    ]


@bp.post("/subscribers/<int:subscriber_id>/unsubscribe")
def subscribers_unsubscribe(subscriber_id: int):
    """Unsubscribe by hand (a letter, a phone call): one list, or every list."""
    subscriber = _subscriber_or_404(subscriber_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    list_id = request.form.get("list_id", type=to_id)
    left = unsubscribe_by_admin(
        subscriber, Origin.from_request(), _actor(), list_ids={list_id} if list_id else None
    )
    if left:
        flash(f"Unsubscribed from {', '.join(ml.name for ml in left)}.", "success")
    else:
        flash("They were not subscribed to that.", "info")
    return redirect(url_for("admin.subscribers_show", subscriber_id=subscriber.id))


@bp.post("/subscribers/<int:subscriber_id>/lift")
@admin_required
def subscribers_lift(subscriber_id: int):
    """Remove this person's suppression (admins only, with a reason)."""
    subscriber = _subscriber_or_404(subscriber_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            lifted = lift_for_subscriber(subscriber.email_key, form.reason.data, _actor())
        except ValidationError as error:
            flash(str(error), "error")
        else:
            flash(
                f"Lifted {', '.join(lifted)}. They get no mail until they opt in again.",
                "success",
            )
    else:
        flash(form.reason.errors[0] if form.reason.errors else "Enter a reason", "error")
    return redirect(url_for("admin.subscribers_show", subscriber_id=subscriber.id))


@bp.post("/subscribers/<int:subscriber_id>/export")
@admin_required
def subscribers_export(subscriber_id: int):
    """Everything held about the person, as a JSON download (audited)."""
    subscriber = _subscriber_or_404(subscriber_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    data = rights.export_person(subscriber.email, actor=_actor())
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="subscriber-{subscriber.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/subscribers/<int:subscriber_id>/erase", methods=["GET", "POST"])
@admin_required
def subscribers_erase(subscriber_id: int):
    """A page that says what erasure does, and its button."""
    subscriber = _subscriber_or_404(subscriber_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            erasure = erase_person(subscriber.email, actor=_actor())
        except NewsletterError as error:
            flash(str(error), "error")
            return redirect(url_for("admin.subscribers_show", subscriber_id=subscriber_id))
        flash(
            "Erased. Only a suppression entry is kept, without the address "
            f"(reasons: {', '.join(erasure.reasons)}).",
            "success",
        )
        return redirect(url_for("admin.subscribers_index"))
    return render_template("admin/subscriber_erase.html", subscriber=subscriber, form=form)


@bp.get("/lists/<slug:slug>/subscribers.csv")
@admin_required
def lists_export(slug: str):
    """A list's subscribers (every state) as a CSV, streamed page by page (audited)."""
    try:
        mailing_list = get_list(slug)
    except NewsletterError:
        abort(404)
    rows = audience.export_list(mailing_list, actor=_actor())

    def generate():
        buffer = io.StringIO()
        writer = spreadsheet.writer(buffer)
        writer.writerow(audience.EXPORT_COLUMNS)
        while True:
            chunk = list(islice(rows, 1000))
            writer.writerows(chunk)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if not chunk:
                return

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{mailing_list.slug}-subscribers.csv"',
            "Cache-Control": "no-store",
        },
    )
