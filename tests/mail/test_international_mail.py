"""System mail and test sends to international addresses, and mail that cannot be built."""

import sqlalchemy as sa

from newsletter.background import enqueue
from newsletter.delivery.trial_send import add_test_address, send_test_issue
from newsletter.extensions import db
from newsletter.mail.errors import InternationalAddressRefused
from newsletter.mail.system import send_test_message
from newsletter.mail.transport import PermanentSmtpError
from newsletter.models import AuditEvent, OutboxMessage, Subscriber
from newsletter.subscriptions.mail import send_confirmation
from tests.factories import make_issue, pending_person
from tests.support.subscribing import sign_up

REFUSED = str(InternationalAddressRefused())


def failures() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).filter_by(action="mail.failed")))


def run_system_queue(broker, worker) -> Exception | None:
    """Run the system queue to the end; the error a dead message ended with, if any."""
    try:
        broker.join(enqueue.QUEUE_SYSTEM)
    except Exception as error:  # a message that failed for good
        worker.join()
        return error
    worker.join()
    return None


def test_sign_up_with_an_accented_address_gets_its_confirmation(client, news, mail):
    """josé.garcía@example.org signs up; the mail goes by SMTPUTF8 to the address as typed."""
    assert sign_up(client, "josé.garcía@example.org", "news", name="José").status_code == 200
    message = mail.only_message()
    assert message.rcpt_tos == ["josé.garcía@example.org"]
    assert "SMTPUTF8" in message.mail_options
    assert message["To"].addresses[0].addr_spec == "josé.garcía@example.org"
    assert message["To"].addresses[0].display_name == "José"
    assert "/confirm/" in message.text()


def test_confirmation_the_relay_cannot_take_is_recorded_once_and_not_retried(
    app, news, stub_broker, stub_worker, ascii_sink
):
    """zoë@… with a relay without SMTPUTF8: one audit entry with the reason, no retry, no mail."""
    subscriber_id = pending_person("zoë.ahmed@hackney.gov.uk", news)
    enqueue.send_confirmation(subscriber_id)
    assert isinstance(run_system_queue(stub_broker, stub_worker), PermanentSmtpError)
    assert ascii_sink.messages == []
    [event] = failures()
    assert event.target == f"subscriber:{subscriber_id}"
    assert event.detail == {"mail": "confirmation", "reason": REFUSED}


def test_confirmation_that_cannot_be_built_is_recorded_once_and_not_retried(
    app, news, stub_broker, stub_worker, ascii_sink
):
    """A stored address IDNA refuses: recorded as failed once, with no address in the record."""
    subscriber_id = pending_person("ann@example.com", news)
    db.session.execute(
        sa.update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(email="ann@bücher_.example")
    )
    db.session.commit()
    enqueue.send_confirmation(subscriber_id)
    assert isinstance(run_system_queue(stub_broker, stub_worker), PermanentSmtpError)
    [event] = failures()
    assert event.detail["reason"] == "the message could not be built or sent: InvalidCodepoint"
    assert "bücher" not in str(event.detail)


def test_an_idn_domain_goes_in_ascii_to_a_relay_without_smtputf8(
    client, news, stub_broker, stub_worker, ascii_sink
):
    """anna@bücher.example gets her confirmation at anna@xn--bcher-kva.example."""
    sign_up(client, "anna@bücher.example", "news")
    assert run_system_queue(stub_broker, stub_worker) is None
    [message] = ascii_sink.messages
    assert message.rcpt_tos == ["anna@xn--bcher-kva.example"]
    assert message["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.example"


def test_test_send_reaches_international_addresses_and_fails_alone(
    app, make, news, stub_broker, stub_worker, ascii_sink
):
    """A test send to three addresses: the one the relay cannot take is recorded, the rest go."""
    issue = make_issue(make, [news])
    addresses = ["first@example.org", "zoë@hackney.gov.uk", "anna@bücher.example"]
    for address in addresses:
        add_test_address(address, actor="test")  # tests go only to kept addresses
    enqueue.send_issue_test(issue.id, addresses)
    assert isinstance(run_system_queue(stub_broker, stub_worker), PermanentSmtpError)
    assert sorted(ascii_sink.recipients()) == ["anna@xn--bcher-kva.example", "first@example.org"]
    [event] = failures()
    assert (event.target, event.detail["reason"]) == (f"issue:{issue.id}", REFUSED)


def test_test_send_over_smtputf8_carries_the_utf8_address(app, make, news, smtp_sink):
    """With SMTPUTF8 the test message's envelope and To header carry zoë@… as typed."""
    issue = make_issue(make, [news])
    add_test_address("zoë@hackney.gov.uk", actor="test")
    assert send_test_issue(issue.id, ["zoë@hackney.gov.uk"]) == 1
    [message] = smtp_sink.messages
    assert message.rcpt_tos == ["zoë@hackney.gov.uk"]
    assert message["To"].addresses[0].addr_spec == "zoë@hackney.gov.uk"


def test_admin_test_message_reaches_an_international_account(app, make, smtp_sink):
    """The outbox's test message goes to an account whose address has an accent."""
    account = make.account(email="zoë.admin@hackney.gov.uk")
    send_test_message(account.id)
    [message] = smtp_sink.messages
    assert message.rcpt_tos == ["zoë.admin@hackney.gov.uk"]
    assert "SMTPUTF8" in message.mail_options


def test_the_outbox_shows_a_message_to_an_accented_address(app, admin_client, make, outbox_sink):
    """The built-in sink offers SMTPUTF8; the outbox page reads the UTF-8 header as written."""
    news = make.list(slug="news", name="News")
    subscriber_id = pending_person("zoë.ahmed@hackney.gov.uk", news)
    db.session.execute(
        sa.update(Subscriber).where(Subscriber.id == subscriber_id).values(name="Zoë Ahmed")
    )
    db.session.commit()
    assert send_confirmation(subscriber_id) is True
    row = db.session.scalars(sa.select(OutboxMessage)).one()
    assert row.recipients == "zoë.ahmed@hackney.gov.uk"
    response = admin_client.get(f"/admin/outbox/{row.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "zoë.ahmed@hackney.gov.uk" in page and "Zoë Ahmed" in page
