"""The preferences page a signed link opens, and renewing an expired link."""

from __future__ import annotations

from flask import abort, render_template, request

from newsletter.background import enqueue
from newsletter.consent import Origin
from newsletter.extensions import limiter
from newsletter.models import SubscriptionStatus
from newsletter.subscriptions.links import (
    subscriber_from_preferences_token,
    subscriber_of_expired_link,
)
from newsletter.subscriptions.people import active_lists
from newsletter.subscriptions.preferences import offered_lists, update_preferences
from newsletter.tokens import ExpiredTokenError, InvalidTokenError
from newsletter.web.public.blueprint import bp
from newsletter.web.public.forms import PreferencesForm


def _preferences_form(subscriber) -> PreferencesForm:
    offered = offered_lists(subscriber)
    form = PreferencesForm(obj=None if request.method == "POST" else subscriber)
    form.lists.choices = [(ml.slug, ml.name) for ml in offered]
    form.offered = offered
    if request.method == "GET":
        form.lists.data = [
            s.mailing_list.slug
            for s in subscriber.subscriptions
            if s.status == SubscriptionStatus.CONFIRMED
        ]
    return form


def _submitted_name(form: PreferencesForm, subscriber) -> str:
    # A client that leaves the field out keeps the stored name; an empty field clears it.
    return form.name.data.strip() if "name" in request.form else subscriber.name


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str):
    try:
        subscriber = subscriber_from_preferences_token(token)
    except ExpiredTokenError:
        return render_template("public/preferences_expired.html", token=token), 410
    except InvalidTokenError:
        return render_template("public/preferences_invalid.html"), 404
    form = _preferences_form(subscriber)
    if form.validate_on_submit():
        wanted = {ml.id for ml in form.offered if ml.slug in set(form.lists.data or ())}
        joined, left = update_preferences(
            subscriber, wanted, _submitted_name(form, subscriber), Origin.from_request()
        )
        return render_template(
            "public/preferences_saved.html", joined=joined, left=left, token=token,
            lists=active_lists(subscriber),
        )  # fmt: skip
    status = 400 if request.method == "POST" else 200
    return render_template(
        "public/preferences.html", form=form, subscriber=subscriber, token=token
    ), status


@bp.post("/preferences/<token>/renew")
# A few renewals per link an hour: the mail goes only to the link's owner, but never in bulk.
@limiter.limit("3 per hour", key_func=lambda: "renew:" + (request.view_args or {})["token"][-16:])
def renew_preferences_link(token: str):
    """An expired preferences link mails a fresh one to the same person."""
    try:
        subscriber_from_preferences_token(token)
    except ExpiredTokenError as error:
        subscriber = subscriber_of_expired_link(error)
    except InvalidTokenError:
        subscriber = None
    else:
        abort(404)  # Still valid: nothing to renew.
    if subscriber is None:
        abort(404)
    enqueue.send_preferences_link(subscriber.id)
    return render_template("public/preferences_renewed.html")
