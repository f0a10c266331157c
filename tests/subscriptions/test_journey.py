"""The subscriber's journey in the domain layer: sign up, confirm, leave, preferences."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from newsletter import suppression
from newsletter.addresses import parse_address
from newsletter.consent import Origin
from newsletter.extensions import db
from newsletter.models import (
    AppendOnlyError,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    ConsentWording,
    OptInLevel,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions import links
from newsletter.subscriptions.confirmation import (
    CONFIRMATION_MAILS_PER_DAY,
    confirm_subscription,
    open_confirm_link,
)
from newsletter.subscriptions.links import confirmation_token
from newsletter.subscriptions.preferences import update_preferences
from newsletter.subscriptions.retention import blank_old_request_details, purge_stale_signups
from newsletter.subscriptions.signup import request_subscription
from newsletter.subscriptions.unsubscribe import unsubscribe
from newsletter.tokens import ExpiredTokenError, InvalidTokenError
from newsletter.web.public.list_choices import public_list_choices
from tests.support.queries import recorded_statements

ORIGIN = Origin(source="/subscribe", ip_address="192.0.2.7", user_agent="Firefox")
WORDING = "Sign up for the Digital Coalition newsletter, monthly."


def sign_up(email, *lists, name=""):
    return request_subscription(parse_address(email), name, list(lists), ORIGIN, WORDING)


def statuses(subscriber):
    db.session.refresh(subscriber)
    return {s.mailing_list.slug: s.status for s in subscriber.subscriptions}


def link_for(subscriber):
    """A confirm link's token naming the lists the person is pending on now (as mailed)."""
    db.session.refresh(subscriber)
    return confirmation_token(
        subscriber, [s.list_id for s in subscriber.subscriptions if s.status == "pending"]
    )


def events(subscriber):
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.subscriber_id == subscriber.id)
            .order_by(ConsentEvent.id)
        )
    )


def test_new_address_is_pending_and_due_a_confirmation(news):
    """A first sign-up stores the normalised address and asks for confirmation."""
    result = sign_up("Ann@Example.COM", news, name="Ann")
    subscriber = db.session.get(Subscriber, result.subscriber_id)
    assert subscriber.email == "Ann@example.com"
    assert subscriber.email_key == "ann@example.com"
    assert result.confirmation_due
    assert statuses(subscriber) == {"news": SubscriptionStatus.PENDING}
    [event] = events(subscriber)
    assert (event.action, event.method) == (ConsentAction.REQUESTED, ConsentMethod.FORM)
    assert (event.source, event.ip_address, event.user_agent) == (
        "/subscribe",
        "192.0.2.7",
        "Firefox",
    )
    assert db.session.get(ConsentWording, event.wording_version).text == WORDING


def test_case_variants_of_an_address_are_one_person(news):
    """Deduplication uses the casefolded key."""
    first = sign_up("bob@example.com", news)
    second = sign_up("BOB@example.com", news)
    assert first.subscriber_id == second.subscriber_id


def _verb_and_table(statement: str) -> tuple[str, str]:
    words = statement.split()
    if words[0] == "WITH":
        return "WITH", words[1]
    if words[0] == "SELECT":
        return "SELECT", words[words.index("FROM") + 1]
    return words[0], words[2] if words[0] in {"INSERT", "DELETE"} else words[1]


def test_a_new_address_costs_one_insert_per_table(news, jobs):
    """The sign-up hot path: no lookup first, no re-read wording; one statement on PostgreSQL."""
    sign_up("first@example.com", news)
    sign_up("second@example.com", news)  # reads the stored wording back; later ones skip it
    db.session.refresh(news)  # loaded, as the view's lists are
    db.session.refresh(jobs)
    with recorded_statements() as statements:
        assert sign_up("third@example.com", news, jobs).confirmation_due
    writes = [("INSERT", "subscriber"), ("INSERT", "subscription"), ("INSERT", "consent_event")]
    if db.engine.dialect.name == "postgresql":
        writes = [("WITH", "new_row_0")]  # the three INSERTs as one statement
    assert [_verb_and_table(s) for s in statements] == writes  # each for both lists' rows


def test_a_known_address_is_not_duplicated_or_downgraded(news):
    """The new-person INSERT skips an address someone holds; the general path takes over."""
    subscriber = db.session.get(Subscriber, sign_up("known@example.com", news).subscriber_id)
    confirm_subscription(link_for(subscriber), ORIGIN)
    result = sign_up("Known@example.com", news)
    assert result.subscriber_id == subscriber.id and not result.confirmation_due
    assert db.session.scalar(select(sa.func.count()).select_from(Subscriber)) == 1
    assert statuses(subscriber) == {"news": SubscriptionStatus.CONFIRMED}


def test_a_known_persons_sign_up_is_one_transaction(news, jobs, monkeypatch):
    """After the new-person INSERT skipped them, a failure half-way leaves nothing behind."""
    sign_up("known@example.com", news)
    sign_up("other@example.com", news)  # reads the stored wording back; later ones skip it
    before = db.session.scalar(select(sa.func.count()).select_from(ConsentEvent))

    def fail_after_the_flush(*args, **kwargs):
        raise RuntimeError("lost the database")

    monkeypatch.setattr("newsletter.subscriptions.signup.SignupResult", fail_after_the_flush)
    [jobs_row] = [row for row in public_list_choices() if row.slug == "jobs"]
    db.session.commit()  # as in the view: no transaction open when the sign-up starts
    with pytest.raises(RuntimeError):
        sign_up("known@example.com", jobs_row)
    db.session.rollback()
    assert db.session.scalar(select(sa.func.count()).select_from(ConsentEvent)) == before
    assert db.session.scalar(select(sa.func.count()).select_from(Subscription)) == 2


def test_a_confirmation_mail_names_each_list_at_most_once_a_day(news, jobs):
    """The same lists again within 24 hours are due no mail; a new list is; after 24 hours,
    the same lists are again."""
    assert sign_up("c@example.com", news).confirmation_due
    assert not sign_up("c@example.com", news).confirmation_due
    again = sign_up("c@example.com", jobs)
    assert again.confirmation_due
    assert not sign_up("c@example.com", news, jobs).confirmation_due
    subscriber = db.session.get(Subscriber, again.subscriber_id)
    for subscription in subscriber.subscriptions:
        subscription.confirmation_sent_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert sign_up("c@example.com", news).confirmation_due


def test_confirmation_mails_to_one_address_are_capped(make):
    """However many lists, at most CONFIRMATION_MAILS_PER_DAY mails until a quiet day."""
    lists = [make.list(f"l{n}") for n in range(CONFIRMATION_MAILS_PER_DAY + 2)]
    due = [sign_up("cap@example.com", ml).confirmation_due for ml in lists]
    cap = CONFIRMATION_MAILS_PER_DAY
    assert due == [True] * cap + [False, False]
    subscriber = db.session.get(Subscriber, sign_up("cap@example.com", lists[0]).subscriber_id)
    assert subscriber.confirmation_mails == cap
    subscriber.confirmation_sent_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    # A day without a mail: the lists the cap left unnamed are due one.
    assert sign_up("cap@example.com", lists[-1]).confirmation_due
    assert subscriber.confirmation_mails == 1


def test_confirm_link_confirms_the_lists_it_names_once(news, jobs):
    """One link confirms the pending lists it names; pressed again it changes nothing."""
    result = sign_up("d@example.com", news)
    sign_up("d@example.com", jobs)
    subscriber = db.session.get(Subscriber, result.subscriber_id)
    token = link_for(subscriber)
    _, confirmed = confirm_subscription(token, ORIGIN)
    assert {m.slug for m in confirmed} == {"news", "jobs"}
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.CONFIRMED}
    count = len(events(subscriber))
    link, confirmed_again = confirm_subscription(token, ORIGIN)
    assert confirmed_again == []
    assert {m.slug for m in link.subscribed} == {"news", "jobs"}
    assert len(events(subscriber)) == count


def test_confirm_link_leaves_lists_it_does_not_name_pending(news, jobs):
    """A link naming News confirms News only, though Jobs is pending too."""
    subscriber = db.session.get(Subscriber, sign_up("d2@example.com", news, jobs).subscriber_id)
    token = confirmation_token(subscriber, [news.id])
    _, confirmed = confirm_subscription(token, ORIGIN)
    assert [m.slug for m in confirmed] == ["news"]
    assert statuses(subscriber) == {
        "news": SubscriptionStatus.CONFIRMED,
        "jobs": SubscriptionStatus.PENDING,
    }


def test_opening_a_confirm_link_changes_nothing(news):
    """Reading a link (what a GET does) writes nothing, even with a list waiting for it."""
    subscriber = db.session.get(Subscriber, sign_up("d3@example.com", news).subscriber_id)
    before = len(events(subscriber))
    link = open_confirm_link(link_for(subscriber))
    assert [s.list_id for s in link.confirmable] == [news.id]
    db.session.rollback()
    assert statuses(subscriber) == {"news": SubscriptionStatus.PENDING}
    assert len(events(subscriber)) == before


def test_confirmed_subscription_is_never_downgraded(news, jobs, make):
    """Signing up again leaves a confirmed list confirmed and asks only about the new one."""
    subscriber = make.subscriber("e@example.com", lists=[news])
    result = sign_up("e@example.com", news, jobs)
    assert statuses(subscriber) == {
        "news": SubscriptionStatus.CONFIRMED,
        "jobs": SubscriptionStatus.PENDING,
    }
    assert result.confirmation_due
    assert [e.list_id for e in events(subscriber)] == [jobs.id]


def test_single_opt_in_list_confirms_at_once_with_evidence(make):
    """Single opt-in: confirmed immediately, a request and a confirmation event recorded."""
    open_list = make.list("open", double_opt_in=False)
    result = sign_up("f@example.com", open_list)
    subscriber = db.session.get(Subscriber, result.subscriber_id)
    assert not result.confirmation_due
    assert statuses(subscriber) == {"open": SubscriptionStatus.CONFIRMED}
    assert [(e.action, e.opt_in_level) for e in events(subscriber)] == [
        (ConsentAction.REQUESTED, OptInLevel.SINGLE),
        (ConsentAction.CONFIRMED, OptInLevel.SINGLE),
    ]


def test_bounced_address_gets_no_confirmation(news):
    """A hard bounce blocks confirmation mail; the request is still recorded."""
    suppression.suppress("g@example.com", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    result = sign_up("g@example.com", news)
    assert not result.confirmation_due


def test_an_unknown_suppressed_address_is_written_pending_with_its_requests(make, news):
    """Nobody holds it, but a reason stands: every list waits for the link, single opt-in too."""
    open_list = make.list("open", double_opt_in=False)
    suppression.suppress("h@example.com", SuppressionReason.LEFT_ALL)
    db.session.commit()
    result = sign_up("h@example.com", open_list, news)
    subscriber = db.session.get(Subscriber, result.subscriber_id)
    assert result.confirmation_due and result.confirmed_now == []
    assert statuses(subscriber) == {
        "open": SubscriptionStatus.PENDING,
        "news": SubscriptionStatus.PENDING,
    }
    assert [e.action for e in events(subscriber)] == [ConsentAction.REQUESTED] * 2
    assert subscriber.confirmation_mails == 1
    assert all(s.confirmation_sent_at is not None for s in subscriber.subscriptions)


def test_an_unknown_bounced_address_is_recorded_but_mailed_nothing(news):
    """A reason only an admin lifts: the request is evidence, and no mail is counted."""
    suppression.suppress("i@example.com", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    result = sign_up("i@example.com", news)
    subscriber = db.session.get(Subscriber, result.subscriber_id)
    assert not result.confirmation_due
    assert statuses(subscriber) == {"news": SubscriptionStatus.PENDING}
    assert subscriber.confirmation_mails == 0
    assert subscriber.subscriptions[0].confirmation_sent_at is None


def test_leaver_who_confirms_lifts_their_suppression(news, make):
    """left_all is lifted by the confirmation link, with a consent event saying so."""
    subscriber = make.subscriber("h@example.com", lists=[news])
    unsubscribe(subscriber, ConsentMethod.ONE_CLICK, ORIGIN)
    assert suppression.active_reasons("h@example.com") == {SuppressionReason.LEFT_ALL}
    assert sign_up("h@example.com", news).confirmation_due
    token = link_for(subscriber)
    confirm_subscription(token, ORIGIN)
    assert suppression.active_reasons("h@example.com") == set()
    actions = [e.action for e in events(subscriber)]
    assert ConsentAction.SUPPRESSION_LIFTED in actions
    assert actions[-1] == ConsentAction.RESUBSCRIBED


def test_tampered_and_expired_confirm_links_change_nothing(news, monkeypatch):
    """A bad or old link raises and leaves the subscription pending."""
    result = sign_up("i@example.com", news)
    subscriber = db.session.get(Subscriber, result.subscriber_id)
    token = link_for(subscriber)
    with pytest.raises(InvalidTokenError):
        confirm_subscription(token[:-2] + "xx", ORIGIN)
    monkeypatch.setattr(links, "CONFIRM_MAX_AGE", timedelta(seconds=-1))
    with pytest.raises(ExpiredTokenError):
        confirm_subscription(token, ORIGIN)
    assert statuses(subscriber) == {"news": SubscriptionStatus.PENDING}


def test_unsubscribe_is_idempotent_and_suppresses_a_leaver(news, jobs, make):
    """Leaving every list puts the address on the suppression list once."""
    subscriber = make.subscriber("j@example.com", lists=[news, jobs])
    left = unsubscribe(subscriber, ConsentMethod.ONE_CLICK, ORIGIN)
    assert {m.slug for m in left} == {"news", "jobs"}
    assert unsubscribe(subscriber, ConsentMethod.ONE_CLICK, ORIGIN) == []
    entry = suppression.find_entry("j@example.com")
    assert [r.reason for r in entry.reasons] == [SuppressionReason.LEFT_ALL]


def test_leaving_one_list_is_not_suppression(news, jobs, make):
    """Unsubscribing from one list of two leaves the address mailable."""
    subscriber = make.subscriber("k@example.com", lists=[news, jobs])
    unsubscribe(subscriber, ConsentMethod.UNSUBSCRIBE_PAGE, ORIGIN, {news.id})
    assert statuses(subscriber)["jobs"] == SubscriptionStatus.CONFIRMED
    assert suppression.active_reasons("k@example.com") == set()


def test_preferences_join_without_confirmation_and_leave(news, jobs, make):
    """The preferences token proves inbox control: joining confirms at once."""
    subscriber = make.subscriber("l@example.com", lists=[news])
    joined, left = update_preferences(subscriber, {jobs.id}, "Lee", ORIGIN)
    assert (joined, left) == (["jobs"], ["news"])
    assert statuses(subscriber) == {
        "news": SubscriptionStatus.UNSUBSCRIBED,
        "jobs": SubscriptionStatus.CONFIRMED,
    }
    assert subscriber.name == "Lee"
    methods = {e.method for e in events(subscriber)}
    assert methods == {ConsentMethod.PREFERENCES}


def _age_requests(subscriber, days):
    """Move the person's rows and events `days` into the past (Core: events refuse the ORM)."""
    then = utcnow() - timedelta(days=days)
    db.session.execute(
        sa.update(ConsentEvent)
        .where(ConsentEvent.subscriber_id == subscriber.id)
        .values(recorded_at=then, occurred_at=then)
    )
    db.session.execute(
        sa.update(Subscription)
        .where(Subscription.subscriber_id == subscriber.id)
        .values(created_at=then, confirmation_sent_at=then)
    )
    db.session.execute(
        sa.update(Subscriber)
        .where(Subscriber.id == subscriber.id)
        .values(created_at=then, confirmation_sent_at=then)
    )
    db.session.commit()
    db.session.expire_all()


def test_purge_removes_stale_form_signups_but_keeps_imported_people(news, make):
    """Unconfirmed form sign-ups go after 30 days; imported pending people stay."""
    stale = db.session.get(Subscriber, sign_up("m@example.com", news).subscriber_id)
    imported = make.subscriber("n@example.com", lists=[news], status="pending")
    imported.created_via = ConsentMethod.IMPORT
    for subscription in imported.subscriptions:
        subscription.requested_via = ConsentMethod.IMPORT
    db.session.commit()
    stale_id, imported_id = stale.id, imported.id
    for person in (stale, imported):
        _age_requests(person, days=31)
    assert purge_stale_signups() == 1
    db.session.expire_all()
    assert db.session.get(Subscriber, stale_id) is None
    assert (
        db.session.scalar(select(sa.func.count()).where(ConsentEvent.subscriber_id == stale_id))
        == 0
    )
    assert db.session.get(Subscriber, imported_id) is not None


def test_purge_keeps_a_leaver_who_asks_again_and_their_history(news):
    """Someone who joined long ago, left, and signs up again is not purged as a stranger."""
    person = db.session.get(Subscriber, sign_up("q@example.com", news).subscriber_id)
    confirm_subscription(link_for(person), ORIGIN)
    unsubscribe(person, ConsentMethod.ONE_CLICK, ORIGIN, {news.id})
    _age_requests(person, days=40)
    assert sign_up("q@example.com", news).confirmation_due
    history = len(events(person))

    assert purge_stale_signups() == 0
    assert statuses(person) == {"news": SubscriptionStatus.PENDING}
    assert len(events(person)) == history
    # Today's link still confirms, and lifts the suppression their leaving put in place.
    confirm_subscription(link_for(person), ORIGIN)
    assert statuses(person) == {"news": SubscriptionStatus.CONFIRMED}


def test_a_leavers_lapsed_request_leaves_them_unsubscribed_with_their_history(news):
    """A request never confirmed lapses after 30 days, but a leaver stays a leaver."""
    person = db.session.get(Subscriber, sign_up("r@example.com", news).subscriber_id)
    confirm_subscription(link_for(person), ORIGIN)
    unsubscribe(person, ConsentMethod.ONE_CLICK, ORIGIN, {news.id})
    sign_up("r@example.com", news)
    history = len(events(person))

    assert purge_stale_signups(now=utcnow() + timedelta(days=31)) == 1
    assert statuses(person) == {"news": SubscriptionStatus.UNSUBSCRIBED}
    assert len(events(person)) == history
    assert suppression.active_reasons("r@example.com") == {SuppressionReason.LEFT_ALL}


def test_asking_again_within_30_days_keeps_the_request(news):
    """The 30 days run from the latest request, not the first."""
    person = db.session.get(Subscriber, sign_up("s@example.com", news).subscriber_id)
    _age_requests(person, days=29)
    sign_up("s@example.com", news)  # the mail of day 29 carries a link valid 72 hours

    assert purge_stale_signups(now=utcnow() + timedelta(days=2)) == 0
    assert statuses(person) == {"news": SubscriptionStatus.PENDING}
    assert purge_stale_signups(now=utcnow() + timedelta(days=31)) == 1
    db.session.expire_all()
    assert db.session.get(Subscriber, person.id) is None


def test_old_request_details_are_blanked_but_events_kept(news):
    """IP and user agent go after the retention period; the event stays."""
    subscriber = db.session.get(Subscriber, sign_up("o@example.com", news).subscriber_id)
    [event] = events(subscriber)
    assert blank_old_request_details(now=utcnow() + timedelta(days=731)) == 1
    db.session.refresh(event)
    assert (event.ip_address, event.user_agent) == (None, None)
    assert event.action == ConsentAction.REQUESTED


def test_consent_events_cannot_be_rewritten(news):
    """The ORM refuses to change an event's substance."""
    subscriber = db.session.get(Subscriber, sign_up("p@example.com", news).subscriber_id)
    [event] = events(subscriber)
    event.method = ConsentMethod.ADMIN
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
