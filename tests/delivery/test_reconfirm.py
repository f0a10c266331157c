"""Asking the people a `--consent reconfirm` import left pending to confirm."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.addresses import parse_address
from newsletter.cli import main
from newsletter.compose.issues import IssueStateError
from newsletter.consent import Origin
from newsletter.delivery.control import pause_issue, resume
from newsletter.delivery.in_process import send_in_process
from newsletter.delivery.reconfirmation import start_reconfirmation
from newsletter.delivery.sender import send_batch
from newsletter.extensions import db
from newsletter.models import (
    AuditEvent,
    ConsentAction,
    ConsentEvent,
    Issue,
    IssueStatus,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.confirmation import confirm_subscription
from newsletter.subscriptions.links import confirmation_token
from newsletter.subscriptions.signup import request_subscription
from tests.factories import finished_import, send_here, statuses
from tests.support.signin import sign_in
from tests.support.subscribing import link_path, person
from tests.support.subscribing import statuses as lists_of


@pytest.fixture
def imported(runner, make, news, tmp_path):
    """An import with --consent reconfirm of five addresses, two of them known here already."""
    make.subscriber(email="stays@example.com", lists=[news], status="confirmed")
    make.subscriber(email="left@example.com", lists=[news], status="unsubscribed")
    path = tmp_path / "old-provider.csv"
    path.write_text(
        "email,name\n"
        "ann@example.com,Ann\n"
        "bob@example.com,Bob\n"
        "cy@example.com,Cy\n"
        "stays@example.com,Stays\n"
        "left@example.com,Left\n"
    )
    return finished_import(runner, path, "--consent", "reconfirm")


def test_each_pending_person_gets_one_request_and_nobody_else(app, imported, smtp_sink):
    """Pending people of the import are mailed once; confirmed, unsubscribed, suppressed are not."""
    suppression.suppress("cy@example.com", SuppressionReason.MANUAL, "asked by phone")
    db.session.commit()
    issue = start_reconfirmation(imported, "test", dispatch=False)
    assert statuses(issue) == {"ann@example.com": "queued", "bob@example.com": "queued"}
    assert send_here(issue) == IssueStatus.SENT
    assert sorted(smtp_sink.recipients()) == ["ann@example.com", "bob@example.com"]
    captured = smtp_sink.messages[0]
    assert captured["From"] == app.config["MAIL_FROM_SYSTEM"]
    assert captured["Auto-Submitted"] == "auto-generated"
    assert captured["List-Unsubscribe"] is None and captured["List-Unsubscribe-Post"] is None
    assert "News" in captured.text() and "moved our mailing list" in captured.text()
    assert "/confirm/" in captured.html()
    ann = person("ann@example.com")
    assert ann.confirmation_sent_at is not None and ann.confirmation_mails == 1
    assert ann.subscriptions[0].confirmation_sent_at == ann.confirmation_sent_at
    assert person("cy@example.com").confirmation_sent_at is None


def test_the_link_opens_the_button_and_the_button_confirms(app, client, imported, smtp_sink):
    """Opening the link changes nothing; pressing its button confirms, with a consent event."""
    issue = start_reconfirmation(imported, "test", dispatch=False)
    send_here(issue)
    captured = next(m for m in smtp_sink.messages if m.rcpt_tos == ["bob@example.com"])
    path = link_path(captured, "confirm")
    for method in ("GET", "HEAD"):
        assert client.open(path, method=method).status_code == 200
    assert lists_of("bob@example.com") == {"news": "pending"}
    page = client.get(path).get_data(as_text=True)
    assert "Confirm my subscription</button>" in page and "<li>News</li>" in page
    response = client.post(path)
    assert response.status_code == 200
    assert "Subscription confirmed" in response.get_data(as_text=True)
    assert lists_of("bob@example.com") == {"news": "confirmed"}
    assert lists_of("ann@example.com") == {"news": "pending"}
    bob = person("bob@example.com")
    actions = db.session.scalars(
        sa.select(ConsentEvent.action).where(ConsentEvent.subscriber_id == bob.id)
    ).all()
    assert ConsentAction.CONFIRMED in actions


def test_someone_who_confirmed_before_their_turn_is_skipped(app, client, imported, smtp_sink):
    """Checked at claim time: a person no longer pending gets nothing."""
    issue = start_reconfirmation(imported, "test", dispatch=False)
    ann = person("ann@example.com")
    token = confirmation_token(ann, [s.list_id for s in ann.subscriptions])
    confirm_subscription(token, Origin(source="test"))
    assert send_here(issue) == IssueStatus.SENT
    assert smtp_sink.recipients() == ["bob@example.com", "cy@example.com"]
    assert statuses(issue)["ann@example.com"] == "skipped"


def test_the_link_names_the_imports_list_only(app, client, make, imported, news, smtp_sink):
    """A list asked for on Bob's behalf after the request went is not confirmed by its link."""
    jobs = make.list(slug="jobs", name="Jobs")
    issue = start_reconfirmation(imported, "test", dispatch=False)
    send_here(issue)
    captured = next(m for m in smtp_sink.messages if m.rcpt_tos == ["bob@example.com"])
    request_subscription(
        parse_address("bob@example.com"), "", [jobs], Origin(source="/subscribe"), "wording"
    )
    path = link_path(captured, "confirm")
    assert "Jobs" not in client.get(path).get_data(as_text=True)
    client.post(path)
    assert lists_of("bob@example.com") == {"news": "confirmed", "jobs": "pending"}


def test_people_asked_about_the_list_within_the_day_are_not_asked_again(app, imported, news):
    """The per-list rule of sign-ups: named in a mail today, left out; the cap, likewise."""
    ann, bob = person("ann@example.com"), person("bob@example.com")
    ann.subscriptions[0].confirmation_sent_at = utcnow()
    bob.confirmation_sent_at, bob.confirmation_mails = utcnow(), 3
    db.session.commit()
    issue = start_reconfirmation(imported, "test", dispatch=False)
    assert statuses(issue) == {"cy@example.com": "queued"}


def test_pause_stops_the_requests_and_resume_finishes_them(app, imported, smtp_sink):
    """Paused: a batch sends nothing; resumed: everyone is asked, once."""
    issue = start_reconfirmation(imported, "test", dispatch=False)
    assert pause_issue(issue.id, "test")
    result = send_batch(issue.id, 0, 10**9)
    assert result.stopped == IssueStatus.PAUSED and smtp_sink.recipients() == []
    db.session.expire_all()
    resume(issue, "test", dispatch=False)
    assert send_here(issue) == IssueStatus.SENT
    assert len(smtp_sink.recipients()) == 3


def test_running_a_batch_again_sends_no_duplicates_and_a_second_start_is_refused(
    app, imported, smtp_sink
):
    """Each person has one ledger row; a batch replayed finds nothing left to send."""
    issue = start_reconfirmation(imported, "test", dispatch=False)
    send_here(issue)
    send_batch(issue.id, 0, 10**9)
    assert sorted(smtp_sink.recipients()) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    with pytest.raises(IssueStateError):
        start_reconfirmation(imported, "test", dispatch=False)


def test_a_keep_import_has_nobody_to_ask(app, runner, make, news, tmp_path):
    """Consent kept: refused, with a reason, and no issue is made."""
    path = tmp_path / "kept.csv"
    path.write_text("email\nkept@example.com\n")
    job = finished_import(runner, path)
    with pytest.raises(IssueStateError, match="kept consent"):
        start_reconfirmation(job, "test", dispatch=False)


def test_reconfirmations_stay_out_of_the_issues_list_and_the_archive(
    app, admin_client, imported, smtp_sink
):
    """Only newsletters are listed and archived."""
    issue = start_reconfirmation(imported, "test", dispatch=False)
    send_here(issue)
    assert "Confirm your subscription" not in admin_client.get("/admin/issues").get_data(
        as_text=True
    )
    assert admin_client.get(f"/archive/{issue.id}").status_code == 404


def test_the_admin_asks_from_the_import_page(admin_client, imported, smtp_sink):
    """Button, confirmation step with the count, the send, the audit entry; then only a link."""
    job_page = f"/admin/imports/{imported.id}"
    page = admin_client.get(job_page).get_data(as_text=True)
    assert "Ask them to confirm" in page
    step = admin_client.get(f"{job_page}/reconfirm").get_data(as_text=True)
    assert "3 people imported as pending to News" in step
    assert smtp_sink.recipients() == []
    response = admin_client.post(f"{job_page}/reconfirm")
    assert response.status_code == 302
    assert "/admin/issues/" in response.headers["Location"]
    # No Redis in the tests: the ledger is recorded and this process sends it (as the sweep would).
    send_in_process(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert sorted(smtp_sink.recipients()) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "import.reconfirmation_sent")
    ).one()
    assert event.detail["job"] == imported.id and event.detail["recipients"] == 3
    progress = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Confirm your subscription" in progress
    page = admin_client.get(job_page).get_data(as_text=True)
    assert "Ask them to confirm" not in page and "Follow the confirmation requests" in page
    again = admin_client.post(f"{job_page}/reconfirm")
    assert again.status_code == 302 and len(smtp_sink.recipients()) == 3


def test_editors_may_not_ask(client, make, imported, smtp_sink):
    """An editor is refused both the step and the send; nothing is made or mailed."""
    editor = make.account(email="editor@example.org", role="editor")
    sign_in(client, editor.email)
    assert client.get(f"/admin/imports/{imported.id}/reconfirm").status_code == 403
    assert client.post(f"/admin/imports/{imported.id}/reconfirm").status_code == 403
    assert db.session.scalars(sa.select(Issue)).all() == []
    assert smtp_sink.recipients() == []


def test_the_command_asks_once_and_waits(runner, imported, smtp_sink):
    """`issues reconfirm JOB --wait` prints the id and sends; a second run is a one-line error."""
    result = runner.invoke(main, ["issues", "reconfirm", str(imported.id), "--wait"])
    assert result.exit_code == 0, (result.output, result.exception)
    issue = db.session.get(Issue, int(result.stdout.strip()))
    assert issue.kind == "reconfirmation" and issue.import_job_id == imported.id
    assert len(smtp_sink.recipients()) == 3
    again = runner.invoke(main, ["issues", "reconfirm", str(imported.id)])
    assert again.exit_code == 1 and "asked already" in again.output
    missing = runner.invoke(main, ["issues", "reconfirm", "999"])
    assert missing.exit_code == 1 and "no import with the id 999" in missing.output
    assert len(smtp_sink.recipients()) == 3


def test_a_mailbox_that_does_not_exist_is_suppressed(app, imported, smtp_sink):
    """550 5.1.1 on a request: failed, and the address joins the suppression list."""
    smtp_sink.refuse["bob@example.com"] = "550 5.1.1 No such user"
    issue = start_reconfirmation(imported, "test", dispatch=False)
    assert send_here(issue) == IssueStatus.SENT
    assert statuses(issue)["bob@example.com"] == "failed"
    assert suppression.active_reasons("bob@example.com") == {SuppressionReason.HARD_BOUNCE}
    assert person("bob@example.com").confirmation_sent_at is None
