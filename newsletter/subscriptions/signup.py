"""Asking to subscribe: the sign-up form's request, for new and known people alike.

The rules: a confirmed subscription is never downgraded; a single-opt-in list confirms at once
unless a suppression reason stands against the address (then only the confirmation link may
lift it); no confirmation mail goes while a reason only an admin may lift stands, and the
per-list and per-address limits of confirmation.py bound the rest.

A person nobody holds and nothing suppresses is the common case on a public form. Their
subscriber row, subscriptions and consent events are written by `insert_new_person` in one
round trip (one statement on PostgreSQL), which writes nothing if the address is taken or
suppressed by then; the sign-up benchmark misses its target without it. Anyone else is looked
up: a known person's request is decided with the ORM, and an unknown suppressed person is
written by the same `insert_new_person`.

`request_subscription` commits; the caller enqueues the confirmation mail when it is due.

The form does none of this in its request, whose timing would then tell an address's state:
it sends a `SignupRequest` (the address, name, lists and the request's evidence) to a worker,
whose `record_signup` runs `request_subscription` as of the request's time, once however
often the message is delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa

from newsletter import suppression, webhooks
from newsletter.addresses import Address, parse_address
from newsletter.consent import Origin, event_values, wording_version
from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    MailingList,
    OptInLevel,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.models.enums import SELF_LIFTABLE_REASONS
from newsletter.subscriptions.confirmation import (
    confirmation_mail_due,
    mark_confirmed,
    note_confirmation_mail,
    nudge_welcomes,
)
from newsletter.subscriptions.new_person import insert_new_person
from newsletter.subscriptions.people import find_subscriber, subscriptions_by_list

ListChoice = MailingList | sa.Row  # the form passes rows, not loaded lists


@dataclass
class SignupResult:
    subscriber_id: int
    confirmation_due: bool = False
    confirmed_now: list[str] = field(default_factory=list)


def request_subscription(
    address: Address,
    name: str,
    lists: Sequence[ListChoice],
    origin: Origin,
    wording: str,
    *,
    requested_at: datetime | None = None,
    version: str | None = None,
) -> SignupResult:
    """Record a sign-up from the form; the caller enqueues the confirmation mail if due.

    `wording` is the text the person saw; a worker, which has only its stored version, passes
    `version` instead. `requested_at` is when the person asked (now by default): the consent
    events and the confirmation-mail limits are written as of then.
    """
    if version is None and wording:
        version = wording_version(wording)
    now = requested_at or utcnow()
    standing: set[SuppressionReason] = set()
    webhooks.begin_if_wanted(webhooks.EventType.SUBSCRIBER_REQUESTED)
    while True:
        # Tried first as a new person nothing suppresses; what stops the write (the address
        # is taken, or a reason stands) is then looked up, and a race only repeats the loop.
        result = _request_as_new_person(address, name, lists, origin, version, now, standing)
        if result is not None:
            break
        standing = suppression.active_reasons(address.key)
        subscriber = find_subscriber(address.key)
        if subscriber is not None:
            result = _request_as_known_person(
                subscriber, name, lists, origin, version, now, standing
            )
            break
    webhooks.emit(
        webhooks.EventType.SUBSCRIBER_REQUESTED,
        result.subscriber_id,
        {"lists": [m.slug for m in lists], "confirmed": result.confirmed_now},
    )
    if db.session().in_transaction():
        db.session.commit()
    if result.confirmed_now:
        nudge_welcomes([ml.id for ml in lists if ml.slug in result.confirmed_now])
    return result


@dataclass(frozen=True)
class SignupRequest:
    """One sign-up as the form received it, carried to the worker that records it.

    Everything the record needs from the request: the address as validated, the name, the
    ids of the lists ticked, the version of the wording shown, and the evidence (when, which
    route, the network address and user agent as `Origin.from_request` gives them).
    """

    email: str
    name: str
    list_ids: list[int]
    requested_at: str  # ISO 8601, UTC, with microseconds
    wording_version: str | None
    source: str
    ip_address: str | None
    user_agent: str | None

    @classmethod
    def made(
        cls,
        address: Address,
        name: str,
        lists: Sequence[ListChoice],
        origin: Origin,
        version: str | None,
    ) -> SignupRequest:
        """The request of this moment."""
        return cls(
            email=address.email,
            name=name,
            list_ids=[ml.id for ml in lists],
            requested_at=utcnow().isoformat(),
            wording_version=version,
            source=origin.source,
            ip_address=origin.ip_address,
            user_agent=origin.user_agent,
        )

    def to_message(self) -> dict[str, object]:
        """The request as a queue message's JSON argument."""
        return asdict(self)

    @classmethod
    def from_message(cls, payload: dict) -> SignupRequest:
        return cls(**payload)


def record_signup(signup: SignupRequest) -> SignupResult | None:
    """Record a queued sign-up as `request_subscription` would have in its request; commits.

    None when there is nothing to record: the request was recorded already (the message was
    delivered twice: its person holds a request event of its very time) or it named no list
    that still exists.
    """
    address = parse_address(signup.email)
    requested_at = datetime.fromisoformat(signup.requested_at)
    known = find_subscriber(address.key)
    if known is not None and _already_recorded(known.id, requested_at):
        db.session.rollback()
        return None
    lists = _lists_by_id(signup.list_ids)
    if not lists:
        db.session.rollback()
        return None
    origin = Origin(signup.source, signup.ip_address, signup.user_agent)
    return request_subscription(
        address, signup.name, lists, origin, "",
        requested_at=requested_at, version=signup.wording_version,
    )  # fmt: skip


def _already_recorded(subscriber_id: int, requested_at: datetime) -> bool:
    """True when the person has a form request event of exactly this time."""
    found = db.session.scalar(
        sa.select(ConsentEvent.id)
        .where(
            ConsentEvent.subscriber_id == subscriber_id,
            ConsentEvent.action == ConsentAction.REQUESTED,
            ConsentEvent.method == ConsentMethod.FORM,
            ConsentEvent.occurred_at == requested_at,
        )
        .limit(1)
    )
    return found is not None


def _lists_by_id(list_ids: Sequence[int]) -> list[sa.Row]:
    """The lists of these ids that exist, in the order given, as the form's rows."""
    rows = db.session.execute(
        sa.select(
            MailingList.id, MailingList.slug, MailingList.name, MailingList.double_opt_in
        ).where(MailingList.id.in_(list_ids))
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[list_id] for list_id in list_ids if list_id in by_id]


def _opt_in_level(mailing_list: ListChoice) -> OptInLevel:
    return OptInLevel.CONFIRMED if mailing_list.double_opt_in else OptInLevel.SINGLE


def _confirms_at_once(level: OptInLevel, standing: set[SuppressionReason]) -> bool:
    """A single-opt-in list confirms with the request itself, unless the address is suppressed."""
    return level == OptInLevel.SINGLE and not standing


def _may_mail(standing: set[SuppressionReason]) -> bool:
    """No confirmation mail while a reason only an admin may lift stands."""
    return not (standing - SELF_LIFTABLE_REASONS)


def _request_as_new_person(
    address: Address,
    name: str,
    lists: Sequence[ListChoice],
    origin: Origin,
    version: str | None,
    now: datetime,
    standing: set[SuppressionReason],
) -> SignupResult | None:
    """The request of an address nobody holds, written at once; None, writing nothing, if taken.

    With no `standing` reasons, the write also checks that none stands by then.
    """
    subscriptions, events, confirmed_now = [], [], []
    needs_confirmation = False
    planned = []
    for mailing_list in lists:
        level = _opt_in_level(mailing_list)
        confirms = _confirms_at_once(level, standing)
        planned.append((mailing_list, level, confirms))
        actions = [ConsentAction.REQUESTED] + ([ConsentAction.CONFIRMED] if confirms else [])
        events += [
            event_values(
                action,
                ConsentMethod.FORM,
                origin,
                now,
                list_id=mailing_list.id,
                opt_in_level=level,
                wording_version=version,
            )  # fmt: skip
            for action in actions
        ]
        if confirms:
            confirmed_now.append(mailing_list.slug)
        else:
            needs_confirmation = True
    # A new person's pending lists have never been named in a mail, so one is due (and will
    # name them all) unless suppression forbids it.
    due = needs_confirmation and _may_mail(standing)
    for mailing_list, level, confirms in planned:
        subscriptions.append(
            {
                "list_id": mailing_list.id,
                "status": SubscriptionStatus.CONFIRMED if confirms else SubscriptionStatus.PENDING,
                "opt_in_level": level if confirms else OptInLevel.UNKNOWN,
                "requested_via": ConsentMethod.FORM,
                "confirmed_at": now if confirms else None,
                "confirmation_sent_at": now if due and not confirms else None,
            }
        )
    key_hash = suppression.address_hash(address.key)
    person = {
        "email": address.email,
        "email_key": address.key,
        "key_hash": key_hash,
        "name": name,
        "created_via": ConsentMethod.FORM,
        "confirmation_sent_at": now if due else None,
        "confirmation_mails": 1 if due else 0,
    }
    children = [(Subscription.__table__, row) for row in subscriptions]
    children += [(ConsentEvent.__table__, row) for row in events]
    guard = key_hash if not standing else None
    subscriber_id = insert_new_person(person, children, unless_suppressed=guard)
    if subscriber_id is None:
        return None
    return SignupResult(subscriber_id, confirmation_due=due, confirmed_now=confirmed_now)


def _request_as_known_person(
    subscriber: Subscriber,
    name: str,
    lists: Sequence[ListChoice],
    origin: Origin,
    version: str | None,
    now: datetime,
    standing: set[SuppressionReason],
) -> SignupResult:
    """The request of a person we hold, decided on their subscriptions as they stand."""
    if name and not subscriber.name:
        # An anonymous form may fill a missing name but never overwrite one.
        subscriber.name = name
    existing = subscriptions_by_list(subscriber)
    confirmed_now: list[str] = []
    needs_confirmation = False
    for mailing_list in lists:
        subscription = existing.get(mailing_list.id)
        if subscription is not None and subscription.status == SubscriptionStatus.CONFIRMED:
            continue
        level = _opt_in_level(mailing_list)
        _record_consent(
            subscriber, ConsentAction.REQUESTED, origin, now, mailing_list.id, level, version
        )
        if subscription is None:
            subscription = Subscription(
                subscriber=subscriber,
                list_id=mailing_list.id,
                status=SubscriptionStatus.PENDING,
                requested_via=ConsentMethod.FORM,
            )
            db.session.add(subscription)
        if subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            # Asking again is the form's request: it lapses like any other (retention.py).
            subscription.requested_via = ConsentMethod.FORM
        subscription.status = SubscriptionStatus.PENDING
        if _confirms_at_once(level, standing):
            mark_confirmed(subscription, OptInLevel.SINGLE)
            subscription.confirmed_at = now
            _record_consent(
                subscriber, ConsentAction.CONFIRMED, origin, now, mailing_list.id,
                OptInLevel.SINGLE, version,
            )  # fmt: skip
            confirmed_now.append(mailing_list.slug)
        else:
            needs_confirmation = True
    due = needs_confirmation and _may_mail(standing) and confirmation_mail_due(subscriber, now)
    if due:
        note_confirmation_mail(subscriber, now)
    return SignupResult(subscriber.id, confirmation_due=due, confirmed_now=confirmed_now)


def _record_consent(
    subscriber: Subscriber,
    action: ConsentAction,
    origin: Origin,
    occurred_at: datetime,
    list_id: int,
    level: OptInLevel,
    version: str | None,
) -> None:
    """Append one form consent event, of the request's time and wording, to the session."""
    values = event_values(
        action, ConsentMethod.FORM, origin, occurred_at,
        list_id=list_id, opt_in_level=level, wording_version=version,
    )  # fmt: skip
    db.session.add(ConsentEvent(subscriber=subscriber, **values))
