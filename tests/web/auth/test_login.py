"""Signing in and out of the admin."""

from newsletter.accounts import set_disabled
from tests.factories import PASSWORD
from tests.support.queries import audit_actions
from tests.support.signin import sign_in

LOGIN_FAILED = "Enter a correct email address and password"


def test_login_page_has_email_and_password_fields(client):
    """The form's fields are named email and password, as password managers expect."""
    page = client.get("/admin/login").get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page


def test_correct_credentials_redirect_to_the_dashboard(client, admin_account):
    """A successful sign-in answers 302 to the dashboard."""
    response = sign_in(client, admin_account.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_signed_in_client_can_open_the_dashboard(client, admin_account):
    """After signing in, admin pages open."""
    sign_in(client, admin_account.email)
    assert client.get("/admin/").status_code == 200


def test_login_follows_a_local_next_path(client, admin_account):
    """A next path on this site is where the sign-in leads."""
    response = client.post(
        "/admin/login?next=/admin/lists",
        data={"email": admin_account.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/lists"


def test_login_ignores_a_next_url_on_another_site(client, admin_account):
    """No open redirect: an outside next URL falls back to the dashboard."""
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        client.post("/admin/logout")
        response = client.post(
            "/admin/login",
            query_string={"next": target},
            data={"email": admin_account.email, "password": PASSWORD},
        )
        assert response.headers["Location"] == "/admin/", target


def test_wrong_password_shows_one_generic_error(client, admin_account):
    """A wrong password re-renders the form with the generic sentence and 422."""
    response = sign_in(client, admin_account.email, "not the right password")
    assert response.status_code == 422
    assert LOGIN_FAILED in response.get_data(as_text=True)


def test_unknown_address_shows_the_same_generic_error(client):
    """An unknown address is answered exactly like a wrong password."""
    response = sign_in(client, "nobody@example.org")
    assert response.status_code == 422
    assert LOGIN_FAILED in response.get_data(as_text=True)


def test_blank_form_shows_the_same_generic_error(client):
    """Even an empty form gets the one sentence."""
    response = client.post("/admin/login", data={})
    assert response.status_code == 422
    assert LOGIN_FAILED in response.get_data(as_text=True)


def test_failed_login_does_not_echo_the_password(client, admin_account):
    """The password typed is never sent back in the page."""
    response = sign_in(client, admin_account.email, "a secret attempt 123")
    assert "a secret attempt 123" not in response.get_data(as_text=True)


def test_disabled_account_cannot_sign_in(client, make, admin_account):
    """Disabled accounts are refused with the generic error."""
    make.account(email="gone@example.org", role="editor", disabled=True)
    response = sign_in(client, "gone@example.org")
    assert response.status_code == 422
    assert LOGIN_FAILED in response.get_data(as_text=True)


def test_disabling_an_account_ends_its_session(client, make, admin_account):
    """A signed-in account that is disabled is signed out on its next request."""
    editor = make.account(email="editor@example.org", role="editor")
    sign_in(client, editor.email)
    set_disabled(editor, True, actor=admin_account)
    assert client.get("/admin/").status_code == 302


def test_logins_and_failures_are_audited(client, admin_account):
    """auth.login_failed and auth.login appear in the audit log."""
    sign_in(client, admin_account.email, "not the right password")
    sign_in(client, admin_account.email)
    assert audit_actions()[-2:] == ["auth.login_failed", "auth.login"]


def test_logout_ends_the_session(admin_client):
    """After signing out, admin pages send you to the sign-in page."""
    response = admin_client.post("/admin/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login"
    assert admin_client.get("/admin/").status_code == 302


def test_logout_is_audited(admin_client):
    """auth.logout is written when someone signs out."""
    admin_client.post("/admin/logout")
    assert audit_actions()[-1] == "auth.logout"


def test_logout_needs_a_post(admin_client):
    """A link or image cannot sign someone out: GET is not allowed."""
    assert admin_client.get("/admin/logout").status_code == 405
    assert admin_client.get("/admin/").status_code == 200


def test_signed_in_visit_to_login_goes_to_the_dashboard(admin_client):
    """The sign-in page sends a signed-in person on to the dashboard."""
    response = admin_client.get("/admin/login")
    assert response.headers["Location"] == "/admin/"
