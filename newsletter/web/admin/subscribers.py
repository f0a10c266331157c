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
from newsletter.consent import Origin
from newsletter.errors import NewsletterError, ValidationError
from newsletter.extensions import db
from newsletter.lists import get_list
from newsletter.models import Delivery, Issue, Subscriber
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


@bp.get("/subscribers")
def subscribers_index():
    term = request.args.get("q", "")
    after = request.args.get("after", type=to_id)
    error, page = None, None
    try:
        page = audience.search_subscribers(term, after)
    except ValidationError as exc:
        error = str(exc)
    status = 422 if error else 200
    return render_template(
        "admin/subscribers.html", term=term, page=page, error=error, paged=after
    ), status


@bp.get("/subscribers/<int:subscriber_id>")
def subscribers_show(subscriber_id: int):
    subscriber = _subscriber_or_404(subscriber_id)
    deliveries = db.session.execute(
        sa.select(Delivery, Issue.subject)
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id.desc())
        .limit(DELIVERIES_SHOWN)
    ).all()
    return render_template(
        "admin/subscriber_show.html",
        subscriber=subscriber,
        deliveries=deliveries,
        bounces=rights.subscriber_bounces(subscriber.id),
        entry=suppression.find_entry(subscriber.email_key),
        form=ConfirmForm(),
        reason_form=ReasonForm(),
    )


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
