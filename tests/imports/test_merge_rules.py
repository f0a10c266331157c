"""Merging into what the database already holds: never downgrade, never resubscribe leavers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import Subscriber, Subscription, SuppressionReason
from newsletter.suppression import active_reasons, lift, suppress
from tests.factories import export_file
from tests.imports.conftest import statuses, summary


def write(tmp_path, text: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_suppressed_address_is_rejected_not_subscribed(run_import, news, tmp_path):
    """A hard bounce (or any standing reason) keeps the address out."""
    suppress("ada@example.org", SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    counts = summary(run_import(write(tmp_path, "email\nada@example.org\n")).stdout)
    assert counts["rejected"] == 1 and statuses(news) == {}


def test_someone_who_unsubscribed_from_the_list_here_stays_unsubscribed(
    run_import, make, news, tmp_path
):
    """An import never resubscribes a person who left this list."""
    make.subscriber(email="ada@example.org", lists=[news], status="unsubscribed")
    counts = summary(run_import(write(tmp_path, "email\nada@example.org\n")).stdout)
    assert counts["rejected"] == 1
    assert statuses(news) == {"ada@example.org": "unsubscribed"}


def test_a_confirmed_subscriber_stays_confirmed_under_reconfirm(run_import, make, news, tmp_path):
    """--consent reconfirm never turns a confirmed subscription back to pending."""
    make.subscriber(email="ada@example.org", lists=[news], status="confirmed", name="Ada")
    counts = summary(
        run_import(
            write(tmp_path, "email,name\nada@example.org,Ada\n"), "--consent", "reconfirm"
        ).stdout
    )
    assert counts["unchanged"] == 1 and statuses(news) == {"ada@example.org": "confirmed"}


def test_an_existing_subscriber_only_gains_missing_name_and_attributes(
    run_import, make, news, tmp_path
):
    """A name we hold is never overwritten; new attribute keys are added: counted updated."""
    person = make.subscriber(email="ada@example.org", lists=[news], name="Ada L.")
    person.attributes = {"city": "London"}
    db.session.commit()
    path = write(tmp_path, "email,name,city,team\nada@example.org,Someone Else,Leeds,Board\n")
    assert summary(run_import(path).stdout)["updated"] == 1
    db.session.refresh(person)
    assert person.name == "Ada L." and person.attributes == {"city": "London", "team": "Board"}
    assert summary(run_import(path).stdout)["unchanged"] == 1


def test_a_pending_sign_up_is_confirmed_by_an_import_that_keeps_consent(
    run_import, make, news, tmp_path
):
    """keep: pending -> confirmed is new information (updated), with an import event."""
    make.subscriber(email="ada@example.org", lists=[news], status="pending")
    counts = summary(run_import(write(tmp_path, "email\nada@example.org\n")).stdout)
    assert counts["updated"] == 1 and statuses(news) == {"ada@example.org": "confirmed"}


def test_a_person_on_another_list_is_imported_into_this_one(run_import, make, news, tmp_path):
    """Being known already does not stop a new subscription: it counts as imported."""
    other = make.list(slug="other")
    make.subscriber(email="ada@example.org", lists=[other])
    counts = summary(run_import(write(tmp_path, "email\nada@example.org\n")).stdout)
    assert counts["imported"] == 1 and statuses(news) == {"ada@example.org": "confirmed"}


def test_a_leaver_ends_an_older_subscription_to_the_list(run_import, make, news, tmp_path):
    """Unsubscribed in Mailchimp after they confirmed here: suppressed and unsubscribed."""
    person = make.subscriber(email="quit@example.org", lists=[news])
    person.subscriptions[0].confirmed_at = datetime(2019, 1, 1, tzinfo=UTC)
    db.session.commit()
    counts = summary(run_import(export_file("unsubscribed_members_export.csv")).stdout)
    assert counts["suppressed"] == 2
    assert statuses(news) == {"quit@example.org": "unsubscribed"}


def test_an_older_leaving_does_not_override_a_newer_confirmation(run_import, make, news, tmp_path):
    """They left Mailchimp in 2020 and confirmed here since: the import changes nothing."""
    person = make.subscriber(email="quit@example.org", lists=[news])
    person.subscriptions[0].confirmed_at = datetime(2024, 1, 1, tzinfo=UTC)
    db.session.commit()
    counts = summary(run_import(export_file("unsubscribed_members_export.csv")).stdout)
    assert (counts["suppressed"], counts["unchanged"]) == (1, 1)
    assert statuses(news) == {"quit@example.org": "confirmed"}
    assert active_reasons("quit@example.org") == set()


def test_a_lifted_imported_suppression_is_not_put_back_by_the_same_file(run_import, news):
    """Re-running the file after the person rejoined (lifting the reason) changes nothing."""
    run_import(export_file("unsubscribed_members_export.csv"))
    lift("quit@example.org", {SuppressionReason.IMPORTED_UNSUBSCRIBED}, by="confirm_link")
    db.session.commit()
    counts = summary(run_import(export_file("unsubscribed_members_export.csv")).stdout)
    assert counts["suppressed"] == 0 and active_reasons("quit@example.org") == set()


def test_duplicates_in_the_file_are_merged_into_the_first_row(run_import, news, tmp_path):
    """The repeat fills what the first row left blank, and counts as a duplicate."""
    path = write(tmp_path, "email,name,team\nada@example.org,,\nADA@example.org,Ada,Board\n")
    counts = summary(run_import(path).stdout)
    assert (counts["imported"], counts["duplicates"]) == (1, 1)
    ada = db.session.scalars(select(Subscriber)).one()
    assert (ada.name, ada.attributes) == ("Ada", {"team": "Board"})


def test_duplicates_across_batches_are_counted_and_merged(run_import, news, tmp_path):
    """A repeat in a later batch still counts as a duplicate and still fills gaps."""
    rows = "".join(f"p{i}@example.org,\n" for i in range(5))
    path = write(tmp_path, f"email,name\nada@example.org,\n{rows}ada@example.org,Ada\n")
    counts = summary(run_import(path, "--batch-size", "2").stdout)
    assert (counts["imported"], counts["duplicates"]) == (6, 1)
    name = db.session.scalar(
        select(Subscriber.name).where(Subscriber.email_key == "ada@example.org")
    )
    assert name == "Ada"


def test_the_stored_form_is_normalised_and_the_key_casefolded(run_import, news, tmp_path):
    """Addresses are stored as email-validator normalises them (architecture.md, invariant 7)."""
    run_import(write(tmp_path, "email\n  Ada.Lovelace@EXAMPLE.org \n"))
    person = db.session.scalars(select(Subscriber)).one()
    assert (person.email, person.email_key) == (
        "Ada.Lovelace@example.org",
        "ada.lovelace@example.org",
    )
    assert db.session.scalars(select(Subscription.requested_via)).one() == "import"
