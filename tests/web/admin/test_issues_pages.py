"""The issues pages: list, create, progress, and the send, pause, resume and cancel buttons."""

from newsletter.delivery.control import pause_issue
from newsletter.extensions import db
from newsletter.models import AuditEvent, Issue, IssueStatus
from tests.factories import PASSWORD, make_issue, start


def test_issues_page_lists_issues_and_is_in_the_navigation(admin_client, make, news):
    """Each issue is linked from the overview; the admin nav has Issues."""
    make_issue(make, [news], subject="June news")
    page = admin_client.get("/admin/issues").get_data(as_text=True)
    assert "June news" in page and 'href="/admin/issues"' in page


def test_create_form_makes_a_draft(admin_client, news, make):
    """Subject, Markdown body and lists make a draft issue, audited to the account."""
    make.list(slug="events", name="Events")
    response = admin_client.post(
        "/admin/issues/new",
        data={"subject": "July news", "body": "Hello *all*", "lists": ["events", "news"]},
    )
    assert response.status_code == 302
    issue = db.session.query(Issue).one()
    assert (issue.subject, issue.status) == ("July news", IssueStatus.DRAFT)
    assert [ml.slug for ml in issue.lists] == ["events", "news"]
    event = db.session.query(AuditEvent).filter_by(action="issue.created").one()
    assert event.actor == "admin@example.org"


def test_create_form_needs_a_subject_and_a_list(admin_client, news):
    """Missing fields give 422 with the error summary, and no issue."""
    response = admin_client.post("/admin/issues/new", data={"subject": "", "body": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a subject" in page and "Choose at least one list" in page
    assert db.session.query(Issue).count() == 0


def test_issue_page_shows_progress_bar_and_the_script_file(admin_client, make, news):
    """A <progress> element, the numbers, and the polling script from /static (CSP)."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    page = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "<progress" in page and 'max="1"' in page
    assert 'src="/static/issue_progress.js"' in page and "<script>" not in page
    script = admin_client.get("/static/issue_progress.js")
    assert script.status_code == 200 and b"fetch(" in script.data
    script.close()


def test_progress_json_has_counts_rate_and_eta(admin_client, make, news):
    """The endpoint the bar polls answers every count plus remaining, rate and ETA."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    data = admin_client.get(f"/admin/issues/{issue.id}/progress.json").get_json()
    assert data["recipients"] == 1 and data["queued"] == 1 and data["remaining"] == 1
    assert {"sent", "failed", "bounced", "skipped", "rate", "eta_seconds"} <= set(data)


def test_buttons_send_pause_resume_and_cancel(admin_client, make, news):
    """Each POST moves the issue on and is audited."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    for action, status in [
        ("send", IssueStatus.SENDING),
        ("pause", IssueStatus.PAUSED),
        ("resume", IssueStatus.SENDING),
        ("cancel", IssueStatus.CANCELLED),
    ]:
        response = admin_client.post(f"/admin/issues/{issue.id}/{action}")
        assert response.status_code == 302
        db.session.refresh(issue)
        assert issue.status == status, action
    actions = {e.action for e in db.session.query(AuditEvent)}
    assert {"issue.sent", "issue.paused", "issue.resumed", "issue.cancelled"} <= actions


def test_a_paused_issue_shows_why(admin_client, make, news):
    """The reason the issue paused itself is on its page."""
    make.subscriber(lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    pause_issue(issue.id, "system", reason="Paused after 10 failures in a row")
    page = admin_client.get(f"/admin/issues/{issue.id}").get_data(as_text=True)
    assert "Paused after 10 failures in a row" in page


def test_a_wrong_action_is_a_message_not_an_error(admin_client, make, news):
    """Pausing a draft says why it cannot be done."""
    issue = make_issue(make, [news])
    response = admin_client.post(f"/admin/issues/{issue.id}/pause", follow_redirects=True)
    assert response.status_code == 200
    assert "not sending" in response.get_data(as_text=True)


def test_buttons_need_a_csrf_token(client, app, make, news, admin_account):
    """With CSRF on, a POST without the token is refused."""
    client.post("/admin/login", data={"email": admin_account.email, "password": PASSWORD})
    app.config["WTF_CSRF_ENABLED"] = True
    issue = make_issue(make, [news])
    assert client.post(f"/admin/issues/{issue.id}/send").status_code == 400
