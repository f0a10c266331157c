"""/api/v1/subscribers: add (double opt-in, or consent evidence), read, update, unsubscribe,
search, export and erase, each through the function the admin's or the sign-up page calls."""

from __future__ import annotations

from collections.abc import Sequence

from flask import request

from newsletter import rights, suppression
from newsletter.addresses import Address, parse_address
from newsletter.background import enqueue
from newsletter.background.erasure import erase_person
from newsletter.consent import Origin, reason_words, wording_version
from newsletter.delivery.control import can_dispatch
from newsletter.errors import NotFoundError
from newsletter.extensions import db
from newsletter.models import Subscriber, SubscriptionStatus
from newsletter.models.base import get_by_id
from newsletter.subscriptions import audience
from newsletter.subscriptions.evidence import GivenConsent, add_with_evidence
from newsletter.subscriptions.people import update_details
from newsletter.subscriptions.signup import ListChoice, SignupRequest, request_subscription
from newsletter.subscriptions.unsubscribe import unsubscribe_by_admin
from newsletter.web.api.auth import Needs, current_account
from newsletter.web.api.blueprint import bp
from newsletter.web.api.cursors import decode_cursor, encode_cursor
from newsletter.web.api.limits import address_allowed
from newsletter.web.api.lookups import list_ids_and_slugs, named_lists
from newsletter.web.api.operations import operation
from newsletter.web.api.schemas import (
    Accepted,
    Erased,
    Export,
    Left,
    SubscriberIn,
    SubscriberOut,
    SubscriberPage,
    SubscriberQuery,
    SubscriberUpdate,
    UnsubscribeIn,
)

ACCEPTED = (
    "Accepted. A person who still needs to confirm is sent a confirmation email; nothing "
    "here says whether the address was known."
)
TAGS = ("subscribers",)


def _subscriber(subscriber_id: int) -> Subscriber:
    subscriber = get_by_id(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFoundError(f"no subscriber with the id {subscriber_id}")
    return subscriber


def subscriber_body(subscriber: Subscriber) -> dict:
    reasons = suppression.active_reasons(subscriber.email_key)
    return {
        "id": subscriber.id,
        "email": subscriber.email,
        "name": subscriber.name,
        "attributes": subscriber.attributes or {},
        "created_at": subscriber.created_at,
        "subscriptions": [
            {
                "list": s.mailing_list.slug,
                "status": s.status.value,
                "confirmed_at": s.confirmed_at,
                "unsubscribed_at": s.unsubscribed_at,
            }
            for s in subscriber.subscriptions
        ],
        "suppressed": sorted(reason_words(r) for r in reasons),
    }


@bp.post("/subscribers")
@operation("subscribers", ok=("HTTP_202", Accepted), json=SubscriberIn, tags=TAGS, not_found=False)
def api_add_subscriber():
    """Add a person: double opt-in (a confirmation mail, as the sign-up form), or with the
    consent evidence you record. The answer is the same whatever the address's standing."""
    body: SubscriberIn = request.context.json  # type: ignore[attr-defined]
    address = parse_address(body.email)
    if body.evidence is not None:
        evidence = body.evidence
        origin = Origin(f"api: {evidence.source}", evidence.ip_address, None)
        consent = GivenConsent(evidence.consented_at, origin, evidence.wording)
        add_with_evidence(address, body.name, named_lists(body.lists), consent, current_account())
        return {"status": "accepted", "detail": ACCEPTED}, 202
    # A queued sign-up carries only the lists' ids (the worker reads the lists): the ids a
    # process has seen are remembered (list_ids_and_slugs), not read on every call.
    lists = list_ids_and_slugs(body.lists) if can_dispatch() else named_lists(body.lists)
    if address_allowed(address.key):
        # Past the per-address limit the answer is the same, and nothing is recorded.
        assert body.wording is not None  # the model asks for one of the two
        _request(address, body.name, lists, body.wording)
    return {"status": "accepted", "detail": ACCEPTED}, 202


def _request(address: Address, name: str, lists: Sequence[ListChoice], wording: str) -> None:
    """The sign-up form's path (newsletter/web/public/signup.py): a worker records the request
    after the answer has gone, or, with nothing consuming the queue, the request itself."""
    origin = Origin.from_request()
    if can_dispatch():
        version = wording_version(wording)
        if db.session.new:
            db.session.commit()  # the worker's consent events name a stored wording
        enqueue.record_signup(
            SignupRequest.made(address, name, lists, origin, version).to_message()
        )
        return
    result = request_subscription(address, name, lists, origin, wording)
    if result.confirmation_due:
        enqueue.send_confirmation(result.subscriber_id)


@bp.get("/subscribers")
@operation("read", ok=("HTTP_200", SubscriberPage), query=SubscriberQuery, tags=TAGS)
def api_find_subscribers():
    """Search people by part of their address or name, a list and a status, page by page."""
    query: SubscriberQuery = request.context.query  # type: ignore[attr-defined]
    filters = audience.Filters(
        term=query.q,
        list_id=named_lists([query.list])[0].id if query.list else None,
        status=SubscriptionStatus(query.status) if query.status else None,
        sort=audience.Sort(query.sort),
    )
    page = audience.find_subscribers(filters, decode_cursor(query.cursor), query.limit)
    return {
        "items": [
            {"id": r.id, "email": r.email, "name": r.name, "created_at": r.created_at}
            for r in page.rows
        ],
        "next_cursor": encode_cursor(page.next_after),
    }


@bp.get("/subscribers/<int:subscriber_id>")
@operation("read", ok=("HTTP_200", SubscriberOut), tags=TAGS)
def api_subscriber(subscriber_id: int):
    """One person: their lists, statuses and any standing suppression."""
    return subscriber_body(_subscriber(subscriber_id))


@bp.patch("/subscribers/<int:subscriber_id>")
@operation("subscribers", ok=("HTTP_200", SubscriberOut), json=SubscriberUpdate, tags=TAGS)
def api_update_subscriber(subscriber_id: int):
    """Change the name, or replace the attributes."""
    subscriber = _subscriber(subscriber_id)
    body: SubscriberUpdate = request.context.json  # type: ignore[attr-defined]
    update_details(subscriber, name=body.name, attributes=body.attributes, actor=current_account())
    return subscriber_body(subscriber)


@bp.post("/subscribers/<int:subscriber_id>/unsubscribe")
@operation("subscribers", ok=("HTTP_200", Left), json=UnsubscribeIn, tags=TAGS)
def api_unsubscribe(subscriber_id: int):
    """Unsubscribe from some lists, or all (as an admin does by hand for a letter or call)."""
    subscriber = _subscriber(subscriber_id)
    body: UnsubscribeIn = request.context.json  # type: ignore[attr-defined]
    list_ids = {ml.id for ml in named_lists(body.lists)} if body.lists else None
    left = unsubscribe_by_admin(subscriber, Origin.from_request(), current_account(), list_ids)
    return {"left": [ml.slug for ml in left]}


@bp.post("/subscribers/<int:subscriber_id>/export")
@operation("subscribers", Needs.ADMIN, ok=("HTTP_200", Export), tags=TAGS)
def api_export_subscriber(subscriber_id: int):
    """Everything held about the person (a subject access request); admins only, audited."""
    subscriber = _subscriber(subscriber_id)
    return rights.export_person(subscriber.email, actor=current_account())


@bp.post("/subscribers/<int:subscriber_id>/erase")
@operation("subscribers", Needs.ADMIN, ok=("HTTP_200", Erased), tags=TAGS)
def api_erase_subscriber(subscriber_id: int):
    """Erase the person, keeping only a suppression entry without the address; admins only."""
    subscriber = _subscriber(subscriber_id)
    erasure = erase_person(subscriber.email, actor=current_account())
    return {"erased": True, "reasons": erasure.reasons}
