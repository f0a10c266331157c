"""Leaving and changing preferences: the unsubscribe link (RFC 8058) and the preferences page."""

from __future__ import annotations

from flask import abort, render_template, request

from newsletter import subscriptions
from newsletter.consent import Origin
from newsletter.extensions import csrf, db, limiter
from newsletter.models import ConsentMethod, Issue, SubscriptionStatus
from newsletter.public import bp
from newsletter.public.forms import PreferencesForm
from newsletter.tasks import enqueue
from newsletter.tokens import ExpiredTokenError, InvalidTokenError

ONE_CLICK_BODY = "One-Click"


def _issue_list_ids(issue_id: int | None) -> set[int] | None:
    """The lists of the issue a link came in, or None (every list) for the plain link."""
    if issue_id is None:
        return None
    issue = db.session.get(Issue, issue_id)
    # A link naming an issue that is gone still unsubscribes: from everything.
    return {link.list_id for link in issue.issue_lists} if issue is not None else None


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@bp.route(
    "/unsubscribe/<token>/<int:issue_id>", methods=["GET", "POST"], endpoint="unsubscribe_issue"
)
@csrf.exempt  # RFC 8058: mail clients POST with no cookie and no token; the URL is the secret.
def unsubscribe(token: str, issue_id: int | None = None):
    """GET (and HEAD) shows a button and changes nothing (link scanners prefetch); POST leaves.

    The link in an issue leaves every list of that issue the person is on (DESIGN.md 6).
    """
    subscriber = subscriptions.find_by_unsubscribe_token(token)
    if subscriber is None:
        # Mangled, or the person was erased: a page that says so, still changing nothing.
        return render_template("public/unsubscribe_invalid.html"), 404
    list_ids = _issue_list_ids(issue_id)
    if request.method != "POST":
        lists = subscriptions.active_lists(subscriber)
        return render_template(
            "public/unsubscribe.html",
            lists=[ml for ml in lists if list_ids is None or ml.id in list_ids],
            preferences_token=subscriptions.preferences_token(subscriber),
        )
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK_BODY
    method = ConsentMethod.ONE_CLICK if one_click else ConsentMethod.UNSUBSCRIBE_PAGE
    left = subscriptions.unsubscribe(subscriber, method, Origin.from_request(), list_ids)
    # Always 200, never a redirect: some mail clients treat a redirect as failure.
    return render_template(
        "public/unsubscribed.html",
        left=left,
        preferences_token=subscriptions.preferences_token(subscriber),
    )


def _preferences_form(subscriber) -> PreferencesForm:
    offered = {ml.id: ml for ml in subscriptions.public_lists()}
    for subscription in subscriber.subscriptions:
        offered.setdefault(subscription.list_id, subscription.mailing_list)
    form = PreferencesForm(obj=None if request.method == "POST" else subscriber)
    form.lists.choices = [(ml.slug, ml.name) for ml in offered.values()]
    form.offered = list(offered.values())
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
        subscriber = subscriptions.subscriber_from_preferences_token(token)
    except ExpiredTokenError:
        return render_template("public/preferences_expired.html", token=token), 410
    except InvalidTokenError:
        return render_template("public/preferences_invalid.html"), 404
    form = _preferences_form(subscriber)
    if form.validate_on_submit():
        wanted = {ml.id for ml in form.offered if ml.slug in set(form.lists.data or ())}
        joined, left = subscriptions.update_preferences(
            subscriber, wanted, _submitted_name(form, subscriber), Origin.from_request()
        )
        return render_template(
            "public/preferences_saved.html", joined=joined, left=left, token=token,
            lists=subscriptions.active_lists(subscriber),
        )  # fmt: skip
    status = 400 if request.method == "POST" else 200
    return render_template(
        "public/preferences.html", form=form, subscriber=subscriber, token=token
    ), status


@bp.post("/preferences/<token>/renew")
# A few renewals per link an hour: the mail goes only to the link's owner, but never in bulk.
@limiter.limit("3 per hour", key_func=lambda: "renew:" + request.view_args["token"][-16:])
def renew_preferences_link(token: str):
    """An expired preferences link mails a fresh one to the same person."""
    try:
        subscriptions.subscriber_from_preferences_token(token)
    except ExpiredTokenError as error:
        subscriber = subscriptions.subscriber_of_expired_link(error)
    except InvalidTokenError:
        subscriber = None
    else:
        abort(404)  # Still valid: nothing to renew.
    if subscriber is None:
        abort(404)
    enqueue("send_preferences_link", "system", subscriber.id)
    return render_template("public/preferences_renewed.html")
