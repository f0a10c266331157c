"""Nothing goes out without the right to send: scheduled issues, test sends and their limits."""

from datetime import UTC, datetime

import pytest
from dramatiq import Worker

from newsletter.compose.issues import SendRightRequired, update_issue
from newsletter.delivery.scheduling import schedule_issue
from newsletter.delivery.trial_send import add_test_address, request_test_send
from newsletter.extensions import db
from newsletter.models import AllowedTestAddress, AuditEvent, IssueStatus
from tests.factories import PASSWORD, make_issue
from tests.support.queries import audit_actions
from tests.support.signin import sign_in
from tests.support.subscribing import deliver

LATER = datetime(2099, 7, 1, 8, 30, tzinfo=UTC)


@pytest.fixture
def editor(make):
    return make.account(email="editor@example.org", password=PASSWORD, role="editor")


@pytest.fixture
def editor_client(app, editor):
    client = app.test_client()
    assert sign_in(client, editor.email).status_code == 302
    return client


@pytest.fixture
def scheduled(make, news, admin_account):
    issue = make_issue(make, [news], subject="Approved words")
    schedule_issue(issue, LATER, actor=admin_account)
    return issue


def edit(client, issue, subject="Words nobody approved"):
    return client.post(
        f"/admin/issues/{issue.id}/edit",
        data={"subject": subject, "body": "Changed", "lists": ["news"]},
    )


def test_editor_cannot_change_a_scheduled_issue(editor_client, scheduled):
    """The edit is refused with a sentence; the issue goes out as the admin scheduled it."""
    assert editor_client.get(f"/admin/issues/{scheduled.id}/edit").status_code == 302
    response = edit(editor_client, scheduled)
    assert response.status_code == 302
    page = editor_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "only someone who may send issues can change it" in page
    db.session.refresh(scheduled)
    assert (scheduled.subject, scheduled.status) == ("Approved words", IssueStatus.SCHEDULED)
    assert "issue.updated" not in audit_actions()
    # The attempt itself is in the audit log.
    assert audit_actions().count("issue.update_refused") == 1


def test_editor_sees_no_edit_button_on_a_scheduled_issue(editor_client, scheduled):
    """The issue's page says why it cannot be changed instead of offering Edit."""
    page = editor_client.get(f"/admin/issues/{scheduled.id}").get_data(as_text=True)
    assert f"/admin/issues/{scheduled.id}/edit" not in page
    assert "goes out as it is" in page


def test_editor_still_edits_a_draft(editor_client, make, news):
    """A draft is the editor's to change."""
    issue = make_issue(make, [news])
    assert edit(editor_client, issue).status_code == 302
    db.session.refresh(issue)
    assert issue.subject == "Words nobody approved"


def test_a_schedule_set_while_the_form_was_open_wins(app, make, news, editor, admin_account):
    """The rule is checked on the locked row, not only when the form opened."""
    issue = make_issue(make, [news])
    schedule_issue(issue, LATER, actor=admin_account)
    with pytest.raises(SendRightRequired):
        update_issue(issue, "Late change", "x", ["news"], actor=editor)
    db.session.refresh(issue)
    assert issue.subject == "Spring news"


def test_admin_change_to_a_scheduled_issue_keeps_it_scheduled_and_says_so(admin_client, scheduled):
    """Someone who may send may change it; the audit log says it was scheduled."""
    assert edit(admin_client, scheduled).status_code == 302
    db.session.refresh(scheduled)
    assert (scheduled.subject, scheduled.status) == ("Words nobody approved", IssueStatus.SCHEDULED)
    event = db.session.query(AuditEvent).filter_by(action="issue.updated").one()
    assert event.detail["status"] == "scheduled"
    assert event.detail["scheduled_at"] == LATER.isoformat()


def test_editor_allowed_to_send_may_change_a_scheduled_issue(admin_client, editor, scheduled, app):
    """With "Editors may send" on, the editor has the right, and the edit goes through."""
    admin_client.post("/admin/issues/permissions", data={"editors_may_send": "y"})
    client = app.test_client()
    sign_in(client, editor.email)
    assert edit(client, scheduled).status_code == 302
    db.session.refresh(scheduled)
    assert scheduled.subject == "Words nobody approved"


def test_command_line_may_change_a_scheduled_issue(scheduled):
    """The operator at the command line is trusted as ever."""
    update_issue(scheduled, "From the shell", "x", ["news"], actor="cli")
    db.session.refresh(scheduled)
    assert scheduled.subject == "From the shell"


def test_send_to(client, issue, addresses):
    return client.post(f"/admin/issues/{issue.id}/test", data={"addresses": addresses})


test_send_to.__test__ = False  # a helper, not a test


@pytest.mark.parametrize(
    "addresses",
    ["outsider@example.com", "editor@example.org, outsider@example.com", "gone@example.org"],
)
def test_test_send_to_an_outside_address_is_refused(
    editor_client, make, news, stub_broker, addresses
):
    """Only enabled accounts' and kept addresses: anything else is named, nothing queued."""
    make.account(email="gone@example.org", role="editor", disabled=True)
    issue = make_issue(make, [news])
    response = test_send_to(editor_client, issue, addresses)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    refused = addresses.split(", ")[-1]
    assert f"“{refused}” is not an address test messages may go to" in page
    assert stub_broker.queues.get("system") is None or stub_broker.queues["system"].qsize() == 0
    assert "issue.test_sent" not in audit_actions()
    assert audit_actions().count("issue.test_refused") == 1


def test_test_send_reaches_the_accounts_and_the_kept_addresses(editor_client, make, news, mail):
    """Any enabled account's address, in any case, and the admin's list are allowed."""
    make.account(email="Boss@Example.org", role="admin")
    add_test_address("seed@inbox-test.example", actor="test")
    issue = make_issue(make, [news], subject="June")
    response = test_send_to(
        editor_client, issue, "editor@example.org, boss@example.org, SEED@inbox-test.example"
    )
    assert response.status_code == 302
    recipients = sorted(m.rcpt_tos[0] for m in mail.deliver())
    assert recipients == ["SEED@inbox-test.example", "boss@example.org", "editor@example.org"]
    assert audit_actions().count("issue.test_sent") == 1


def test_worker_checks_again_before_sending(app, make, news, editor, stub_broker, smtp_sink):
    """A test address removed after the request was queued receives nothing."""
    kept = add_test_address("seed@inbox-test.example", actor="test")
    issue = make_issue(make, [news])
    request_test_send(issue, "seed@inbox-test.example, editor@example.org", editor)
    db.session.delete(db.session.get(AllowedTestAddress, kept.id))
    db.session.commit()
    worker = Worker(stub_broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        deliver(stub_broker, worker)
    finally:
        worker.stop()
    assert smtp_sink.recipients() == ["editor@example.org"]


def test_admin_keeps_the_test_addresses_and_it_is_audited(admin_client):
    """Add and remove through the page; each is in the audit log with the address."""
    response = admin_client.post("/admin/test-addresses", data={"email": "Seed@Inbox.example"})
    assert response.status_code == 302
    page = admin_client.get("/admin/test-addresses").get_data(as_text=True)
    assert "Seed@inbox.example" in page
    row = db.session.query(AllowedTestAddress).one()
    assert admin_client.post(f"/admin/test-addresses/{row.id}/remove").status_code == 302
    assert db.session.query(AllowedTestAddress).count() == 0
    events = db.session.query(AuditEvent).filter(AuditEvent.action.like("test_address.%")).all()
    assert [(e.action, e.detail["email"]) for e in events] == [
        ("test_address.added", "Seed@inbox.example"),
        ("test_address.removed", "Seed@inbox.example"),
    ]


def test_test_address_list_refuses_bad_and_repeated_addresses(admin_client):
    """A malformed address or one already kept is a form error; nothing changes."""
    admin_client.post("/admin/test-addresses", data={"email": "seed@inbox.example"})
    for typed, error in (("not an address", "correct format"), ("SEED@inbox.example", "already")):
        response = admin_client.post("/admin/test-addresses", data={"email": typed})
        assert response.status_code == 422
        assert error in response.get_data(as_text=True)
    assert db.session.query(AllowedTestAddress).count() == 1


def test_editors_cannot_change_the_test_addresses(editor_client):
    """The list is the admins': an editor gets the 403 page for the page and its actions."""
    kept = add_test_address("seed@inbox.example", actor="test")
    assert editor_client.get("/admin/test-addresses").status_code == 403
    assert (
        editor_client.post("/admin/test-addresses", data={"email": "x@y.example"}).status_code
        == 403
    )
    assert editor_client.post(f"/admin/test-addresses/{kept.id}/remove").status_code == 403
    assert db.session.query(AllowedTestAddress).count() == 1


class TestSendLimit:
    """Test sends per account, with the limiter on."""

    @pytest.fixture
    def config_overrides(self):
        return {"RATELIMIT_ENABLED": True, "TEST_SEND_RATE_PER_ACCOUNT": "2 per hour"}

    def test_third_test_in_the_hour_is_a_429_with_a_sentence(
        self, editor_client, make, news, stub_broker
    ):
        """Two tests go; the third gets a page saying to wait, and nothing is queued."""
        issue = make_issue(make, [news])
        for _ in range(2):
            assert test_send_to(editor_client, issue, "editor@example.org").status_code == 302
        response = test_send_to(editor_client, issue, "editor@example.org")
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        page = response.get_data(as_text=True)
        assert "You have sent too many test messages for now" in page
        assert "Traceback" not in page
        assert audit_actions().count("issue.test_sent") == 2

    def test_outbox_test_message_shares_the_budget(self, editor_client, make, news, stub_broker):
        """The outbox's test message is a test send too, and audited."""
        issue = make_issue(make, [news])
        assert editor_client.post("/admin/outbox/test").status_code == 302
        assert test_send_to(editor_client, issue, "editor@example.org").status_code == 302
        assert editor_client.post("/admin/outbox/test").status_code == 429
        assert "mail.test_requested" in audit_actions()

    def test_a_refused_form_costs_nothing(self, editor_client, make, news, stub_broker):
        """A typing mistake does not use up the budget."""
        issue = make_issue(make, [news])
        for _ in range(3):
            assert test_send_to(editor_client, issue, "outsider@example.com").status_code == 422
        assert test_send_to(editor_client, issue, "editor@example.org").status_code == 302

    def test_the_limit_is_per_account(self, app, editor_client, make, news, stub_broker):
        """Another account still has its own tests."""
        issue = make_issue(make, [news])
        for _ in range(2):
            test_send_to(editor_client, issue, "editor@example.org")
        other = app.test_client()
        make.account(email="other@example.org", role="editor")
        sign_in(other, "other@example.org")
        assert test_send_to(other, issue, "other@example.org").status_code == 302
