"""Public pages and the headers every response carries."""

import pytest

from newsletter.subscriptions.links import preferences_token


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


def footer(page: str) -> str:
    return page[page.index("<footer") :]


def test_every_public_page_links_to_the_privacy_notice_in_its_footer(client, make):
    """Form, answers, link pages and error pages all carry the footer links to /privacy and to
    the accessibility statement."""
    make.list("news", name="News")
    ann = make.subscriber("ann@example.com")
    responses = [
        client.get("/subscribe"),
        client.post("/subscribe", data={"email": "bob@example.com", "lists": "news"}),
        client.post("/subscribe", data={"email": "not-an-address", "lists": "news"}),
        client.get("/confirm/not-a-token"),
        client.get(f"/unsubscribe/{ann.unsubscribe_token}"),
        client.get(f"/preferences/{preferences_token(ann)}"),
        client.get("/preferences/not-a-token"),
        client.get("/accessibility"),
        client.get("/no-such-page"),
    ]
    for response in responses:
        page = response.get_data(as_text=True)
        assert 'href="/privacy"' in footer(page), response.request.path
        assert 'href="/accessibility"' in footer(page), response.request.path


def test_accessibility_statement_follows_the_model_statement(client):
    """The parts the regulations ask for: compliance status, non-accessible content, how to
    report a problem, the enforcement procedure (EHRC, ECNI), how and when it was tested."""
    page = client.get("/accessibility").get_data(as_text=True)
    for heading in (
        "<h2>How accessible this website is</h2>",
        "<h2>Feedback and contact information</h2>",
        "<h2>Reporting accessibility problems with this website</h2>",
        "<h2>Enforcement procedure</h2>",
        "<h3>Compliance status</h3>",
        "<h3>Non-accessible content</h3>",
        "<h2>Preparation of this accessibility statement</h2>",
    ):
        assert heading in page
    assert "Equality and Human Rights Commission (EHRC)" in page
    assert "Equality Commission for Northern Ireland (ECNI)" in page
    assert "WCAG 2.2" in page and "axe" in page and "320 pixels" in page
    assert "This statement was prepared on" in page


def test_accessibility_statement_file_replaces_the_default_text(app, client, tmp_path):
    """ACCESSIBILITY_STATEMENT_FILE holds the operator's own statement, shown instead of ours."""
    statement = tmp_path / "accessibility.html"
    statement.write_text("<p>Call Example Council on 01632 960000.</p>", encoding="utf-8")
    app.config["ACCESSIBILITY_STATEMENT_FILE"] = str(statement)
    page = client.get("/accessibility").get_data(as_text=True)
    assert "<p>Call Example Council on 01632 960000.</p>" in page
    assert "Enforcement procedure" not in page


def test_privacy_notice_file_replaces_the_default_text(app, client, tmp_path):
    """PRIVACY_NOTICE_FILE holds the operator's own notice, shown instead of ours."""
    notice = tmp_path / "privacy.html"
    notice.write_text("<p>We are the Data Controller of Example Council.</p>", encoding="utf-8")
    app.config["PRIVACY_NOTICE_FILE"] = str(notice)
    page = client.get("/privacy").get_data(as_text=True)
    assert "<p>We are the Data Controller of Example Council.</p>" in page
    assert "What we do not do" not in page


def test_default_privacy_notice_says_what_is_kept_and_for_how_long(client):
    """Without a file, the built-in notice covers tracking, retention and rights."""
    page = client.get("/privacy").get_data(as_text=True)
    assert "We do not track whether you open our emails" in page
    assert "deleted after 30 days" in page
    assert "deleted after two years" in page
