"""The welcome message in the admin: its section on the list page, the editor, the switch, and
where welcome messages never appear (the issues list, archive, feed, home page, dashboard)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from newsletter.cli import main
from newsletter.compose.issues import update_issue
from newsletter.delivery.welcome import create_welcome, queue_due, turn_on
from newsletter.extensions import db
from newsletter.models import AuditEvent, Delivery, Issue, IssueKind, IssueStatus
from tests.delivery.test_welcome import make_joined
from tests.factories import PASSWORD, mailed_issue
from tests.support.signin import sign_in


def welcome_of_news() -> Issue:
    return db.session.scalars(sa.select(Issue).where(Issue.kind == IssueKind.WELCOME)).one()


def test_a_list_without_one_offers_to_write_it(admin_client, news):
    """The section explains the welcome message and offers one button."""
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    assert '<h2 id="welcome">Welcome message</h2>' in page
    assert "Write a welcome message" in page


def test_writing_it_opens_the_issue_editor_without_list_fields(admin_client, news):
    """The button makes an off draft and opens the editor, which has no list choice."""
    response = admin_client.post("/admin/lists/news/welcome")
    issue = welcome_of_news()
    assert response.headers["Location"] == f"/admin/issues/{issue.id}/edit"
    assert (issue.status, issue.welcome_list_id) == (IssueStatus.DRAFT, news.id)
    page = admin_client.get(f"/admin/issues/{issue.id}/edit").get_data(as_text=True)
    assert "Edit the welcome message of News" in page
    assert 'name="lists"' not in page and "Layout" in page


def test_saving_the_editor_goes_back_to_the_list(admin_client, news):
    """Subject and body are saved; the list stays its list."""
    admin_client.post("/admin/lists/news/welcome")
    issue = welcome_of_news()
    response = admin_client.post(
        f"/admin/issues/{issue.id}/edit",
        data={"subject": "Hello {{ subscriber.name }}", "body": "Hi.", "layout": "plain"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/lists/news#welcome"
    db.session.expire_all()
    issue = welcome_of_news()
    assert (issue.subject, issue.layout, [ml.slug for ml in issue.lists]) == (
        "Hello {{ subscriber.name }}", "plain", ["news"]
    )  # fmt: skip


def test_a_bad_placeholder_is_refused_in_the_editor(admin_client, news):
    """The same checks as an issue: an unknown placeholder is a 422 and nothing changes."""
    admin_client.post("/admin/lists/news/welcome")
    issue = welcome_of_news()
    response = admin_client.post(
        f"/admin/issues/{issue.id}/edit", data={"subject": "{{ secret }}", "body": "x"}
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert welcome_of_news().subject == "Welcome to News"


def test_turning_it_on_and_off(admin_client, news):
    """The switch moves it on and off, audited; the page says which."""
    admin_client.post("/admin/lists/news/welcome")
    admin_client.post("/admin/lists/news/welcome/on")
    db.session.expire_all()
    assert welcome_of_news().status == IssueStatus.SENDING
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    assert "Turn the welcome message off" in page and ">On</strong>" in page
    admin_client.post("/admin/lists/news/welcome/off")
    db.session.expire_all()
    assert welcome_of_news().status == IssueStatus.PAUSED
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"welcome.created", "welcome.turned_on", "welcome.turned_off"} <= set(actions)


def test_an_editor_may_write_it_but_not_turn_it_on(client, make, news):
    """Turning it on is sending: an editor gets a 403 unless admins let editors send."""
    editor = make.account(email="ed@example.org", role="editor")
    sign_in(client, editor.email, PASSWORD)
    assert client.post("/admin/lists/news/welcome").status_code == 302
    assert client.post("/admin/lists/news/welcome/on").status_code == 403
    db.session.expire_all()
    assert welcome_of_news().status == IssueStatus.DRAFT


def test_the_page_counts_who_was_welcomed(admin_client, news, smtp_sink, stub_broker, stub_worker):
    """The section says how many people were sent it."""
    issue = create_welcome(news, "test")
    turn_on(issue, "test")
    for address in ("a@example.com", "b@example.com"):
        make_joined(address, news)
    queue_due()
    stub_broker.join("delivery")
    stub_worker.join()
    page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    assert "2 people" in page


def test_test_send_of_a_welcome_goes_back_to_the_list(admin_client, admin_account, news,
                                                      stub_broker):  # fmt: skip
    """A test to the admin's own address is queued; a refused address re-renders the list page."""
    admin_client.post("/admin/lists/news/welcome")
    issue = welcome_of_news()
    good = admin_client.post(f"/admin/issues/{issue.id}/test",
                             data={"addresses": admin_account.email})  # fmt: skip
    assert good.status_code == 302
    bad = admin_client.post(f"/admin/issues/{issue.id}/test",
                            data={"addresses": "stranger@example.net"})  # fmt: skip
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "<h1>News</h1>" in page and "There is a problem" in page


def test_the_preview_shows_it_as_sent(admin_client, news):
    """The issue preview works for a welcome message and links back to the list."""
    admin_client.post("/admin/lists/news/welcome")
    issue = welcome_of_news()
    page = admin_client.get(f"/admin/issues/{issue.id}/preview").get_data(as_text=True)
    assert "Welcome to News" in page and 'href="/admin/lists/news#welcome"' in page


def test_its_issue_page_leads_to_the_list(admin_client, news):
    """/admin/issues/<id> of a welcome message is its list's section."""
    admin_client.post("/admin/lists/news/welcome")
    issue = welcome_of_news()
    response = admin_client.get(f"/admin/issues/{issue.id}")
    assert response.headers["Location"] == "/admin/lists/news#welcome"


@pytest.mark.parametrize("action", ["send", "pause", "resume", "cancel"])
def test_the_issue_controls_refuse_a_welcome(admin_client, news, action):
    """It cannot be sent to the whole list, nor paused or cancelled as an issue."""
    issue = create_welcome(news, "test")
    admin_client.post(f"/admin/issues/{issue.id}/{action}")
    db.session.expire_all()
    assert welcome_of_news().status == IssueStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0


def test_the_command_line_cannot_send_it(runner, news):
    """`newsletter issues send ID` refuses a welcome message with a sentence."""
    issue = create_welcome(news, "test")
    result = runner.invoke(main, ["issues", "send", str(issue.id)])
    assert result.exit_code == 1
    assert "welcome message" in result.output


def test_welcome_messages_stay_out_of_issue_places(app, admin_client, client, make, news,
                                                   smtp_sink):  # fmt: skip
    """The issues list, the list's issues, the dashboard, the archive, feed and home page
    show newsletters only."""
    mailed_issue(make, [news], subject="Spring news")
    issue = create_welcome(news, "test")
    update_issue(issue, "Secret welcome words", "Hi", ["news"], actor="test")
    turn_on(issue, "test")
    for path in ("/admin/issues", "/admin/lists/news", "/admin/"):
        page = admin_client.get(path).get_data(as_text=True)
        assert "Spring news" in page, path
        if path != "/admin/lists/news":  # its own section names it there
            assert "Secret welcome words" not in page, path
    list_page = admin_client.get("/admin/lists/news").get_data(as_text=True)
    issues_table = list_page.split("<h2>Issues")[1]
    assert "Secret welcome words" not in issues_table
    for path in ("/archive", "/archive/feed.xml", "/"):
        page = client.get(path).get_data(as_text=True)
        assert "Secret welcome words" not in page, path
    assert client.get(f"/archive/{issue.id}").status_code == 404


def test_the_persons_page_lists_the_welcome(admin_client, news, smtp_sink, stub_broker,
                                            stub_worker):  # fmt: skip
    """The deliveries on a person's page include the welcome, named as such."""
    issue = create_welcome(news, "test")
    turn_on(issue, "test")
    make_joined("ann@example.com", news)
    queue_due()
    stub_broker.join("delivery")
    stub_worker.join()
    ann = db.session.scalars(sa.select(Delivery)).one()
    page = admin_client.get(f"/admin/subscribers/{ann.subscriber_id}").get_data(as_text=True)
    assert "Welcome message: Welcome to News" in page
