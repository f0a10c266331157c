"""The audit log page: newest first, 50 a page."""

from newsletter.audit import record
from newsletter.extensions import db


def add_events(count: int) -> None:
    for n in range(count):
        record("test.event", target=f"thing:{n}", actor="test")
    db.session.commit()


def test_audit_page_shows_events_newest_first(admin_client):
    """The sign-in that opened the page is listed above the account's creation."""
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert page.index("auth.login") < page.index("account.created")


def test_audit_page_has_when_who_action_target_detail_columns(admin_client):
    """The table's column headers, with scope for screen readers."""
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    for column in ("When", "Who", "Action", "Target", "Detail"):
        assert f'<th scope="col">{column}</th>' in page


def test_audit_page_shows_fifty_events_and_links_to_older_ones(admin_client):
    """Only 50 rows fit a page; an Older link leads on."""
    add_events(60)
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert page.count("<tr>") == 51  # 50 rows and the header
    assert "thing:59" in page and "thing:10" in page and "thing:9<" not in page
    assert "Older events" in page


def test_older_page_continues_where_the_first_stopped(admin_client):
    """Following the Older link shows the remaining events and no further link."""
    add_events(60)
    first = admin_client.get("/admin/audit").get_data(as_text=True)
    older_link = first.split('href="/admin/audit?before=')[1].split('"')[0]
    page = admin_client.get(f"/admin/audit?before={older_link}").get_data(as_text=True)
    assert "thing:9<" in page and "thing:10<" not in page
    assert "account.created" in page
    assert "Older events" not in page and "Newest events" in page


def test_failed_sign_in_appears_without_the_typed_address(app, admin_client):
    """A failed attempt is listed, but not what was typed in the email field."""
    app.test_client().post(
        "/admin/login", data={"email": "typo-secret@example.org", "password": "x" * 12}
    )
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "auth.login_failed" in page
    assert "typo-secret" not in page
