"""subscriber.suppressed, the subscribers page's display flag, follows the suppression list.

`suppression.sync_flags` keeps it in step wherever a reason is given or lifted; a person made
when their address is already suppressed is flagged by the INSERT itself. The send path never
reads the flag.
"""

from __future__ import annotations

import sqlalchemy as sa

from newsletter import suppression
from newsletter.addresses import parse_address
from newsletter.consent import Origin
from newsletter.delivery.ledger import mailable
from newsletter.extensions import db
from newsletter.models import Subscriber, SuppressionReason
from newsletter.subscriptions.new_person import insert_new_person
from newsletter.subscriptions.signup import request_subscription
from newsletter.suppression.manual import add_addresses, remove_entry
from tests.factories import export_file, finished_import

ORIGIN = Origin(source="test", ip_address="192.0.2.7", user_agent="Firefox")


def flags() -> dict[str, bool]:
    """Each person's address key and flag, read afresh from the database."""
    db.session.expire_all()
    rows = db.session.execute(sa.select(Subscriber.email_key, Subscriber.suppressed))
    return {key: bool(flag) for key, flag in rows}


def test_an_import_of_leavers_flags_the_people_already_held(runner, make, news):
    """Unsubscribed and cleaned members of an export suppress the people we hold: flagged;
    a person the export does not name stays unflagged."""
    make.subscriber("left@example.com", lists=[news])
    make.subscriber("bounced@example.org", lists=[news])
    make.subscriber("stays@example.com", lists=[news])
    finished_import(runner, export_file("unsubscribed_members_export.csv"))
    finished_import(runner, export_file("cleaned_members_export.csv"))
    assert flags() == {
        "left@example.com": True,
        "bounced@example.org": True,
        "stays@example.com": False,
    }


def test_lifting_unflags_only_when_nothing_stands(admin_account, make, news):
    """Two reasons stand; lifting one keeps the flag, lifting the other clears it. An admin's
    removal leaves `left_all` standing (flagged) until the person's own opt-in lifts it."""
    make.subscriber("ann@example.com", lists=[news])
    make.subscriber("bob@example.com", lists=[news])
    suppression.suppress("ann@example.com", SuppressionReason.HARD_BOUNCE)
    suppression.suppress("ann@example.com", SuppressionReason.COMPLAINT)
    db.session.commit()
    assert flags() == {"ann@example.com": True, "bob@example.com": False}
    suppression.lift("ann@example.com", {SuppressionReason.HARD_BOUNCE}, by="test")
    db.session.commit()
    assert flags()["ann@example.com"] is True
    suppression.lift("ann@example.com", {SuppressionReason.COMPLAINT}, by="test")
    db.session.commit()
    assert flags()["ann@example.com"] is False

    add_addresses(["bob@example.com"], "", admin_account)
    assert flags()["bob@example.com"] is True
    entry = suppression.find_entry("bob@example.com")
    remove_entry(entry.id, "added by mistake", admin_account)
    assert flags()["bob@example.com"] is True  # left_all stands in
    suppression.lift_self_liftable("bob@example.com", by="bob")
    db.session.commit()
    assert flags()["bob@example.com"] is False


def test_a_person_made_after_their_address_was_suppressed_is_flagged(admin_account, news):
    """Suppressed first (added by hand), signed up after: the new person is flagged at once;
    an address nobody suppressed signs up unflagged."""
    add_addresses(["new@example.com"], "bounced at the old provider", admin_account)
    request_subscription(parse_address("new@example.com"), "", [news], ORIGIN, "wording")
    request_subscription(parse_address("free@example.com"), "", [news], ORIGIN, "wording")
    db.session.commit()
    assert flags() == {"new@example.com": True, "free@example.com": False}


def _person(email: str) -> dict:
    address = parse_address(email)
    return {
        "email": address.email,
        "email_key": address.key,
        "key_hash": suppression.address_hash(address.key),
        "name": "",
    }


def test_insert_new_person_computes_the_flag_in_and_outside_a_transaction(admin_account):
    """Both of insert_new_person's ways (PostgreSQL's single statement outside the session's
    transaction, and inside one) take the flag from the suppression list; guarded, a
    suppressed address makes nobody."""
    add_addresses(["a@example.com", "b@example.com", "g@example.com"], "", admin_account)
    assert not db.session().in_transaction()
    insert_new_person(_person("a@example.com"), [])
    insert_new_person(_person("c@example.com"), [])
    db.session.commit()
    db.session.execute(sa.select(1))  # inside a transaction now
    insert_new_person(_person("b@example.com"), [])
    guarded = _person("g@example.com")
    assert insert_new_person(guarded, [], unless_suppressed=guarded["key_hash"]) is None
    free = _person("d@example.com")
    assert insert_new_person(free, [], unless_suppressed=free["key_hash"]) is not None
    db.session.commit()
    assert flags() == {
        "a@example.com": True,
        "c@example.com": False,
        "b@example.com": True,
        "d@example.com": False,
    }


def test_sync_flags_of_everyone_repairs_any_drift_and_the_send_path_ignores_the_flag(make, news):
    """sync_flags() with no hashes sets every wrong flag right; the ledger's selection of
    recipients asks the suppression list, whatever the flag says."""
    ann = make.subscriber("ann@example.com", lists=[news])
    bob = make.subscriber("bob@example.com", lists=[news])
    suppression.suppress("ann@example.com", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    table = Subscriber.__table__
    drift = sa.case((table.c.id == ann.id, False), else_=True)
    db.session.execute(sa.update(table).values(suppressed=drift))
    db.session.commit()
    assert flags() == {"ann@example.com": False, "bob@example.com": True}
    everyone = sa.select(table.c.id)
    assert [row.email for row in db.session.execute(mailable(everyone))] == ["bob@example.com"]
    suppression.sync_flags()
    db.session.commit()
    assert flags() == {"ann@example.com": True, "bob@example.com": False}
    assert bob.id != ann.id
