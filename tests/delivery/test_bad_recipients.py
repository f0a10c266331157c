"""One recipient can never stall an issue: whatever fails for them fails only their row."""

from collections import Counter

import pytest
import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.mail.errors import InternationalAddressRefused
from newsletter.models import Delivery, IssueStatus
from tests.factories import make_issue, send_here, start

REFUSED = str(InternationalAddressRefused())
COUNT = 9


def rows(issue) -> dict[str, Delivery]:
    found = {
        row.email: row
        for row in db.session.scalars(sa.select(Delivery).filter_by(issue_id=issue.id))
    }
    db.session.commit()
    return found


def corrupt_address(issue, email: str, stored: str) -> None:
    """Give one ledger row an address IDNA 2008 refuses (data written before validation)."""
    db.session.execute(
        sa.update(Delivery)
        .where(Delivery.issue_id == issue.id, Delivery.email == email)
        .values(email=stored)
    )
    db.session.commit()


@pytest.mark.parametrize("kind", ["international", "unbuildable"])
def test_bad_recipients_first_middle_and_last_fail_alone(app, make, news, ascii_sink, kind):
    """The issue reaches sent, good recipients are mailed once, bad ones fail with a reason."""
    bad_positions = (0, COUNT // 2, COUNT - 1)
    emails = []
    for n in range(COUNT):
        bad = n in bad_positions
        email = f"zoë{n}@hackney.gov.uk" if bad and kind == "international" else f"p{n}@example.com"
        make.subscriber(email=email, lists=[news])
        emails.append(email)
    issue = make_issue(make, [news])
    start(issue)
    bad = [emails[n] for n in bad_positions]
    if kind == "unbuildable":
        bad = [f"p{n}@bücher_.example" for n in bad_positions]
        for n, stored in zip(bad_positions, bad, strict=True):
            corrupt_address(issue, emails[n], stored)
    good = [email for n, email in enumerate(emails) if n not in bad_positions]

    assert send_here(issue) == IssueStatus.SENT

    assert Counter(ascii_sink.recipients()) == Counter(good)
    found = rows(issue)
    assert {email: found[email].status.value for email in good} == dict.fromkeys(good, "sent")
    for email in bad:
        assert found[email].status.value == "failed"
        if kind == "international":
            assert found[email].last_error == REFUSED
        else:
            assert found[email].last_error.startswith("the message could not be built or sent")
            assert "InvalidCodepoint" in found[email].last_error


def test_an_smtputf8_relay_mails_the_same_people(app, make, news, smtp_sink):
    """With SMTPUTF8 offered, the international recipients are mailed like everyone else."""
    emails = [f"zoë{n}@hackney.gov.uk" if n % 4 == 0 else f"p{n}@example.com" for n in range(COUNT)]
    for email in emails:
        make.subscriber(email=email, lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert Counter(smtp_sink.recipients()) == Counter(emails)


def test_consecutive_international_refusals_do_not_pause_the_issue(app, make, news, ascii_sink):
    """Refusals that belong to the addresses, not the relay, never count towards a pause."""
    app.config["SEND_PAUSE_AFTER_FAILURES"] = 3
    for n in range(5):
        make.subscriber(email=f"zoë{n}@hackney.gov.uk", lists=[news])
    make.subscriber(email="last@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    assert send_here(issue) == IssueStatus.SENT
    assert ascii_sink.recipients() == ["last@example.com"]


def test_an_issue_that_cannot_be_built_pauses_with_the_reason(app, make, news, smtp_sink):
    """A fault of the whole message (here a From no relay can use) pauses it, never stalls it."""
    make.subscriber(email="ann@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    # Set behind the settings' back: load_config refuses this at start (tests/test_config.py).
    app.config["MAIL_FROM"] = "Zoë Team <zoë@example.org>"

    assert send_here(issue) == IssueStatus.PAUSED

    db.session.refresh(issue)
    assert issue.pause_reason.startswith("The message could not be built for sending")
    assert "InternationalAddressRefused" in issue.pause_reason
    assert smtp_sink.recipients() == []
    assert rows(issue)["ann@example.com"].status.value == "queued"


def test_an_address_with_a_line_break_adds_no_smtp_command(app, make, news, smtp_sink):
    """A row written behind validation's back fails alone; the relay sees no extra recipient."""
    for email in ("ann@example.com", "bob@example.com"):
        make.subscriber(email=email, lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    corrupt_address(issue, "bob@example.com", "bob@example.com>\r\nRCPT TO:<eve@example.net")

    assert send_here(issue) == IssueStatus.SENT

    assert smtp_sink.recipients() == ["ann@example.com"]
    failed = [row for row in rows(issue).values() if row.status.value == "failed"]
    assert [row.last_error for row in failed] == [
        "the address holds line breaks or control characters"
    ]
