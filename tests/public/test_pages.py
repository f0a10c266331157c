"""Public pages and the headers every response carries."""

import pytest


@pytest.mark.parametrize("path", ["/privacy", "/accessibility"])
def test_public_pages_render_with_their_heading(client, path):
    """The privacy notice and accessibility statement are reachable by anyone."""
    response = client.get(path)
    assert response.status_code == 200
    assert b"<h1>" in response.data
    assert b'<html lang="en-GB">' in response.data


def test_every_response_carries_the_security_headers(client):
    """A strict CSP with no inline script, nosniff, a referrer policy, and no framing."""
    response = client.get("/privacy")
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_not_found_pages_carry_the_headers_too(client):
    """Error responses are covered by the same policy."""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
