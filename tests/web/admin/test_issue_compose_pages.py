"""The editor, preview, test send, scheduling and who may do what, through the admin pages."""

from datetime import UTC, datetime

import pytest

from newsletter.delivery.trial_send import add_test_address
from newsletter.extensions import db
from newsletter.models import AuditEvent, Delivery, Issue, IssueStatus
from tests.factories import PASSWORD, make_issue
from tests.support.signin import sign_in


@pytest.fixture
def editor_client(client, make):
    editor = make.account(email="editor@example.org", password=PASSWORD, role="editor")
    assert sign_in(client, editor.email).status_code == 302
    return client


def _actions() -> set[str]:
    return {event.action for event in db.session.query(AuditEvent)}


def test_editor_page_documents_the_placeholders(admin_client, news):
    """The new-issue page lists every placeholder and offers the layouts."""
    page = admin_client.get("/admin/issues/new").get_data(as_text=True)
    for name in ("subscriber.name", "list.name", "unsubscribe_url", "preferences_url"):
        assert "{{ " + name + " }}" in page
    assert "Preheader (optional)" in page and "Primary list" in page and "Layout" in page


def test_form_saves_preheader_layout_and_primary_list_first(admin_client, news, make):
    """The chosen primary list goes first whatever its place on the page."""
    make.list(slug="events", name="Events")
    response = admin_client.post(
        "/admin/issues/new",
        data={
            "subject": "Hello {{ subscriber.name }}",
            "preheader": "All the news",
            "body": "Hi",
            "lists": ["events", "news"],
            "primary_list": "news",
            "layout": "plain",
        },
    )
    assert response.status_code == 302
    issue = db.session.query(Issue).one()
    assert [ml.slug for ml in issue.lists] == ["news", "events"]
    assert (issue.preheader, issue.layout) == ("All the news", "plain")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"subject": "", "body": "x", "lists": ["news"]}, "Enter a subject"),
        ({"subject": "Hi", "body": "x"}, "Choose at least one list"),
        ({"subject": "Hi {{ name }}", "body": "x", "lists": ["news"]}, "Subject, line 1:"),
        ({"subject": "Hi", "body": "a\n{{ subscriber.name", "lists": ["news"]}, "Body, line 2:"),
        (
            {"subject": "Hi", "body": "{{ ''.__class__.__mro__ }}", "lists": ["news"]},
            "Body, line 1:",
        ),
        (
            {"subject": "Hi", "body": "{% if subscriber.name %}x{% endif %}", "lists": ["news"]},
            "Body, line 1:",
        ),
        (
            {"subject": "Hi", "body": "x", "lists": ["news"], "primary_list": "other"},
            "primary list",
        ),
    ],
)
def test_bad_input_is_a_form_error_and_saves_nothing(admin_client, news, make, data, message):
    """An empty subject, no list or a broken placeholder: 422 with the sentence, no issue."""
    make.list(slug="other")
    response = admin_client.post("/admin/issues/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.query(Issue).count() == 0


def test_a_draft_can_be_edited_until_sending_starts(admin_client, news, make):
    """Edit saves and is audited; once sending, the edit page refuses."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    page = admin_client.get(f"/admin/issues/{issue.id}/edit").get_data(as_text=True)
    assert "Spring news" in page
    response = admin_client.post(
        f"/admin/issues/{issue.id}/edit",
        data={"subject": "Summer news", "body": "New body", "lists": ["news"], "layout": "default"},
    )
    assert response.status_code == 302
    db.session.refresh(issue)
    assert (issue.subject, issue.body_markdown) == ("Summer news", "New body")
    assert "issue.updated" in _actions()
    admin_client.post(f"/admin/issues/{issue.id}/send")
    response = admin_client.post(
        f"/admin/issues/{issue.id}/edit",
        data={"subject": "Too late", "body": "x", "lists": ["news"], "layout": "default"},
    )
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.subject == "Summer news"


def test_a_bad_edit_changes_nothing(admin_client, news, make):
    """A broken placeholder on edit is a form error and the stored draft stays as it was."""
    issue = make_issue(make, [news], body="Original")
    response = admin_client.post(
        f"/admin/issues/{issue.id}/edit",
        data={"subject": "X", "body": "{{ oops }}", "lists": ["news"], "layout": "default"},
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).body_markdown == "Original"


def test_big_issue_warns_about_gmail_clipping(admin_client, news, make):
    """Over 100 KB of HTML, the issue and edit pages warn."""
    body = "\n\n".join(f"Paragraph {n} " + "word " * 40 for n in range(600))
    issue = make_issue(make, [news], body=body)
    for path in (f"/admin/issues/{issue.id}", f"/admin/issues/{issue.id}/edit"):
        assert "Gmail clips" in admin_client.get(path).get_data(as_text=True)
    small = make_issue(make, [news], body="Short")
    assert "Gmail clips" not in admin_client.get(f"/admin/issues/{small.id}").get_data(as_text=True)


def test_preview_shows_the_chosen_subscriber(admin_client, news, make):
    """Preview as a chosen person: their name in the subject and text; iframes at two widths."""
    make.subscriber(email="ann@example.com", name="Ann", lists=[news])
    bea = make.subscriber(email="bea@example.com", name="Bea", lists=[news])
    issue = make_issue(
        make, [news], subject="Hi {{ subscriber.name }}", body="Dear {{ subscriber.name }}"
    )
    page = admin_client.get(f"/admin/issues/{issue.id}/preview?subscriber={bea.id}")
    html = page.get_data(as_text=True)
    assert "Hi Bea" in html and "Dear Bea" in html
    assert html.count('<iframe sandbox=""') == 2
    assert "message-html--mobile" in html and "message-html--desktop" in html
    frame = admin_client.get(f"/admin/issues/{issue.id}/preview.html?subscriber={bea.id}")
    assert "Dear Bea" in frame.get_data(as_text=True)
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    assert "script-src" not in frame.headers["Content-Security-Policy"]
    assert "issue.previewed" in _actions()


def test_preview_without_subscribers_uses_a_sample_person(admin_client, news, make):
    """No confirmed subscriber yet: the sample person fills the placeholders."""
    issue = make_issue(make, [news], body="Dear {{ subscriber.name }}")
    page = admin_client.get(f"/admin/issues/{issue.id}/preview").get_data(as_text=True)
    assert "Dear Sam Sample" in page and "sample person" in page


def test_preview_links_act_for_nobody(admin_client, news, make):
    """The preview's links carry no token of the person previewed."""
    person = make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    page = admin_client.get(f"/admin/issues/{issue.id}/preview").get_data(as_text=True)
    assert person.unsubscribe_token not in page
    assert "/unsubscribe/test-message/" in page


def test_test_send_reaches_team_and_test_addresses_marked_and_uncounted(
    admin_client, news, make, mail
):
    """[TEST] in the subject, sent to an account and kept test addresses by a worker, no ledger
    row, audited."""
    make.subscriber(email="real@example.com", lists=[news])
    make.account(email="boss@example.net", role="editor")
    for kept in ("second@example.net", "third@example.net"):
        add_test_address(kept, actor="test")
    issue = make_issue(make, [news], subject="June", body="Hi {{ subscriber.name }}")
    response = admin_client.post(
        f"/admin/issues/{issue.id}/test",
        data={"addresses": "boss@example.net, Second@Example.net\nthird@example.net"},
    )
    assert response.status_code == 302
    messages = mail.deliver()
    assert sorted(m.rcpt_tos[0] for m in messages) == [
        "Second@example.net",
        "boss@example.net",
        "third@example.net",
    ]
    assert {m["Subject"] for m in messages} == {"[TEST] June"}
    assert "Hi reader" in messages[0].text()
    db.session.refresh(issue)
    assert issue.status == IssueStatus.DRAFT
    assert db.session.query(Delivery).count() == 0
    assert "issue.test_sent" in _actions()


def test_test_send_refuses_a_bad_address(admin_client, news, make):
    """A malformed address is named in a form error; nothing is sent or audited."""
    issue = make_issue(make, [news])
    response = admin_client.post(
        f"/admin/issues/{issue.id}/test", data={"addresses": "ok@example.org, not-an-address"}
    )
    assert response.status_code == 422
    assert "not-an-address" in response.get_data(as_text=True)
    assert "issue.test_sent" not in _actions()


def test_schedule_in_uk_time_and_cancel_it(admin_client, news, make):
    """A UK summer time is stored in UTC, shown in UK time; cancelling returns to draft."""
    make.subscriber("ann@example.com", lists=[news])
    issue = make_issue(make, [news])
    response = admin_client.post(
        f"/admin/issues/{issue.id}/schedule", data={"date": "2099-07-01", "time": "09:30"}
    )
    assert response.status_code == 302
    db.session.refresh(issue)
    assert issue.status == IssueStatus.SCHEDULED
    assert issue.scheduled_at == datetime(2099, 7, 1, 8, 30, tzinfo=UTC)
    page = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "1 July 2099 at 09:30 (BST)" in page
    admin_client.post(f"/admin/issues/{issue.id}/unschedule")
    db.session.refresh(issue)
    assert (issue.status, issue.scheduled_at) == (IssueStatus.DRAFT, None)
    assert {"issue.scheduled", "issue.unscheduled"} <= _actions()


@pytest.mark.parametrize(
    "date, time, message",
    [
        ("2001-01-01", "09:00", "Choose a time in the future"),
        ("tomorrow", "09:00", "Enter the date"),
        ("2099-01-01", "25:00", "Enter the time"),
        ("2099-03-29", "01:30", "does not exist in the UK"),
    ],
)
def test_a_bad_schedule_is_a_form_error(admin_client, news, make, date, time, message):
    """A past, malformed or non-existent UK time is refused and the issue stays a draft."""
    make.subscriber("ann@example.com", lists=[news])
    issue = make_issue(make, [news])
    response = admin_client.post(
        f"/admin/issues/{issue.id}/schedule", data={"date": date, "time": time}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(issue)
    assert issue.status == IssueStatus.DRAFT


def test_editors_compose_preview_and_test_send_but_not_send(editor_client, news, make):
    """Editors write, preview and test-send; send, schedule, pause and cancel are 403."""
    response = editor_client.post(
        "/admin/issues/new", data={"subject": "By an editor", "body": "x", "lists": ["news"]}
    )
    assert response.status_code == 302
    issue = db.session.query(Issue).one()
    assert editor_client.get(f"/admin/issues/{issue.id}/preview").status_code == 200
    page = editor_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "Only an admin can send" in page and "Send now" not in page
    for action in ("send", "schedule", "pause", "cancel", "unschedule", "resume"):
        assert editor_client.post(f"/admin/issues/{issue.id}/{action}").status_code == 403
    db.session.refresh(issue)
    assert issue.status == IssueStatus.DRAFT


def test_an_admin_can_let_editors_send(client, news, make, admin_account):
    """With the setting on, an editor may send; the change itself is audited."""
    make.account(email="editor@example.org", password=PASSWORD, role="editor")
    sign_in(client, admin_account.email)
    client.post("/admin/issues/permissions", data={"editors_may_send": "y"})
    assert "settings.editors_may_send" in _actions()
    client.post("/admin/logout")
    sign_in(client, "editor@example.org")
    make.subscriber("ann@example.com", lists=[news])
    issue = make_issue(make, [news])
    assert client.post(f"/admin/issues/{issue.id}/send").status_code == 302
    db.session.refresh(issue)
    assert issue.status in (IssueStatus.SENDING, IssueStatus.SENT)  # no longer a draft


def test_only_admins_change_the_setting(editor_client):
    """An editor cannot allow themself to send."""
    assert (
        editor_client.post("/admin/issues/permissions", data={"editors_may_send": "y"}).status_code
        == 403
    )
