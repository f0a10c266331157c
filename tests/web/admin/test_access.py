"""Who may open the admin: sign-in for everything, admin role for some pages."""

import pytest

from tests.support.signin import sign_in

ADMIN_PAGES = [
    "/admin/",
    "/admin/lists",
    "/admin/lists/new",
    "/admin/accounts",
    "/admin/audit",
    "/admin/password",
]
ADMIN_ONLY_PAGES = ["/admin/accounts", "/admin/audit", "/admin/lists/new"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_every_admin_page_sends_visitors_to_sign_in(client, path):
    """Signed out, each admin page redirects to the sign-in page with a next path."""
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_every_registered_admin_route_requires_a_login(app, client, make):
    """No admin URL, whatever its method, answers a signed-out visitor with content."""
    make.list(slug="news")
    make.account(email="editor@example.org", role="editor")
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = rule.build(
            {name: {"slug": "news", "account_id": 1}.get(name, 1) for name in rule.arguments}
        )[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method)
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admins_can_open_every_admin_page(admin_client, path):
    """An admin sees every page."""
    assert admin_client.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_ONLY_PAGES)
def test_editors_get_a_friendly_403_on_admin_only_pages(client, make, path):
    """Editors are refused admin-only pages with a page that explains."""
    editor = make.account(email="editor@example.org", role="editor")
    sign_in(client, editor.email)
    response = client.get(path)
    assert response.status_code == 403
    assert "You cannot open this page" in response.get_data(as_text=True)


def test_editors_can_see_the_lists(client, make):
    """The list overview is open to editors, without the create button."""
    editor = make.account(email="editor@example.org", role="editor")
    sign_in(client, editor.email)
    page = client.get("/admin/lists").get_data(as_text=True)
    assert "Lists" in page and "Create a list" not in page


def test_editors_cannot_create_accounts(client, make):
    """A POST to the accounts page by an editor is refused and changes nothing."""
    editor = make.account(email="editor@example.org", role="editor")
    sign_in(client, editor.email)
    response = client.post(
        "/admin/accounts",
        data={"email": "new@example.org", "role": "admin", "password": "a long password!"},
    )
    assert response.status_code == 403


def test_admin_pages_send_security_headers(admin_client):
    """CSP forbids framing; nosniff and a referrer policy are set."""
    response = admin_client.get("/admin/accounts")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite_lax(client, admin_account):
    """The cookie set on sign-in cannot be read by script or sent cross-site."""
    response = sign_in(client, admin_account.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_admin_pages_mark_the_current_navigation_item(admin_client):
    """The navigation tells screen readers which page is open."""
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert '<a href="/admin/accounts" aria-current="page">' in page
