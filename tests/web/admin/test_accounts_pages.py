"""The accounts page: listing, creating, disabling and enabling accounts."""

from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import Account, AccountRole, AuditEvent
from tests.support.signin import sign_in

NEW_PASSWORD = "a long enough password"


def create(client, email="new@example.org", role="editor", password=NEW_PASSWORD):
    return client.post("/admin/accounts", data={"email": email, "role": role, "password": password})


def account_emails() -> list[str]:
    return db.session.scalars(select(Account.email).order_by(Account.id)).all()


def test_accounts_page_lists_accounts_in_a_table(admin_client, make):
    """Each account appears with its role and status, under column headers."""
    make.account(email="editor@example.org", role="editor")
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert "editor@example.org" in page and "Editor" in page and "Active" in page
    assert '<th scope="col">Role</th>' in page
    assert "<caption" in page


def test_admin_creates_an_editor_account(admin_client):
    """The form creates the account and redirects back with a confirmation."""
    response = create(admin_client)
    assert response.status_code == 302
    account = db.session.scalars(select(Account).where(Account.email == "new@example.org")).one()
    assert account.role == AccountRole.EDITOR


def test_new_account_can_sign_in(app, admin_client):
    """The password set by the admin works for the new person."""
    create(admin_client)
    assert sign_in(app.test_client(), "new@example.org", NEW_PASSWORD).status_code == 302


def test_short_password_rerenders_with_an_error_summary_and_creates_nothing(admin_client):
    """Invalid input: 422, an error summary linking to the field, no account."""
    response = create(admin_client, password="short")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in page and 'href="#password"' in page
    assert "<title>Error:" in page
    assert account_emails() == ["admin@example.org"]


def test_malformed_address_is_refused(admin_client):
    """The address must be valid."""
    response = create(admin_client, email="not an address")
    assert response.status_code == 422
    assert "correct format" in response.get_data(as_text=True)


def test_duplicate_address_is_refused_on_the_email_field(admin_client):
    """An address that has an account already is a conflict shown on the form."""
    response = create(admin_client, email="ADMIN@example.org")
    assert response.status_code == 422
    assert "exists already" in response.get_data(as_text=True)
    assert account_emails() == ["admin@example.org"]


def test_admin_disables_and_enables_an_account(admin_client, make):
    """The buttons switch an account off and on again."""
    editor = make.account(email="editor@example.org", role="editor")
    assert admin_client.post(f"/admin/accounts/{editor.id}/disable").status_code == 302
    db.session.refresh(editor)
    assert editor.disabled
    admin_client.post(f"/admin/accounts/{editor.id}/enable")
    db.session.refresh(editor)
    assert not editor.disabled


def test_admin_cannot_disable_their_own_account(admin_client, admin_account, make):
    """Disabling yourself is refused with a message, and you stay signed in."""
    make.account(role="admin")
    response = admin_client.post(f"/admin/accounts/{admin_account.id}/disable")
    assert response.status_code == 302
    db.session.refresh(admin_account)
    assert not admin_account.disabled
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert "You cannot disable your own account" in page


def test_disabling_an_unknown_account_is_a_404(admin_client):
    """A made-up id gets the not-found page."""
    assert admin_client.post("/admin/accounts/9999/disable").status_code == 404


def test_account_changes_are_audited(admin_client, make):
    """Creating and disabling accounts from the page writes audit events by the admin."""
    create(admin_client)
    editor = db.session.scalars(select(Account).where(Account.email == "new@example.org")).one()
    admin_client.post(f"/admin/accounts/{editor.id}/disable")
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("account.%")).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor) for e in events[-2:]] == [
        ("account.created", "admin@example.org"),
        ("account.disabled", "admin@example.org"),
    ]
