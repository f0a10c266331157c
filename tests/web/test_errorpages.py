"""Friendly error pages instead of bare errors or tracebacks."""

import pytest

from tests.support.signin import sign_in


@pytest.fixture
def config_overrides():
    # As in production: an unhandled error becomes the 500 page instead of reaching pytest.
    return {"PROPAGATE_EXCEPTIONS": False}


def test_unknown_page_is_a_friendly_404(client):
    """A 404 uses the site's layout and says what to check."""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and 'href="/static/app.css"' in page


def test_unhandled_error_is_a_friendly_500_without_a_traceback(app, client):
    """A crash shows an apology, not the exception."""

    def broken():
        raise RuntimeError("secret internals")

    app.add_url_rule("/broken", "broken", broken)
    response = client.get("/broken")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in page
    assert "secret internals" not in page and "Traceback" not in page


def test_forbidden_page_explains_itself(client, make):
    """A 403 tells the person to ask an administrator."""
    editor = make.account(email="editor@example.org", role="editor")
    sign_in(client, editor.email)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "ask an administrator" in page


def test_wrong_method_is_a_friendly_405(admin_client):
    """Opening a button's address in the browser explains instead of a bare error."""
    response = admin_client.get("/admin/logout")
    assert response.status_code == 405
    assert "cannot be opened that way" in response.get_data(as_text=True)
