"""Rendering an issue: Markdown, sanitising, layouts, inlined CSS, the text part and the footer."""

import pytest

from newsletter.compose.issues import update_issue
from newsletter.compose.render import (
    SIZE_WARNING_BYTES,
    markdown_to_html,
    markdown_to_text,
    render_issue,
    sanitise,
)
from tests.factories import make_issue


@pytest.fixture
def config_overrides():
    return {"ORG_NAME": "Local Digital Coalition", "ORG_ADDRESS": "1 High Street, Leeds LS1 1AA"}


@pytest.fixture
def monthly_news(make):
    """The list as "Monthly news": the footer names it."""
    return make.list(slug="news", name="Monthly news")


def test_markdown_becomes_html_in_the_house_layout(app, monthly_news, make):
    """Headings, emphasis, lists and links become HTML inside the default layout."""
    issue = make_issue(
        make,
        [monthly_news],
        subject="June",
        body="## Hello\n\n*Hi* [site](https://example.org)\n\n- one\n- two",
    )
    html = render_issue(issue).html
    assert "<h2" in html and "<em>Hi</em>" in html and "<li>one</li>" in html
    assert 'href="https://example.org"' in html
    assert "<h1" in html and "June</h1>" in html


def test_css_is_inlined_after_sanitising(app, monthly_news, make):
    """The layout's stylesheet ends up in style attributes; the mobile media query stays."""
    issue = make_issue(make, [monthly_news], body="A [link](https://example.org)")
    html = render_issue(issue).html
    assert 'style="' in html and "color: #1d70b8" in html
    assert "@media" in html


@pytest.mark.parametrize(
    "dirty, gone",
    [
        ("<script>alert(1)</script>", "alert(1)"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ("[x](javascript:alert(1))", 'href="javascript'),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<a href="data:text/html,hi">x</a>', "data:text"),
        ("<iframe src='https://evil.example'></iframe>", "<iframe"),
        ("<form action='https://evil.example'><input></form>", "<form"),
        ('<p style="position:fixed;color:red">x</p>', "position"),
        ("<style>body{display:none}</style>", "display:none"),
        ('<div onclick="steal()">x</div>', "onclick"),
        ("<object data='x'></object>", "<object"),
    ],
)
def test_sanitising_removes_what_the_allowlist_does_not_name(dirty, gone):
    """Script, event handlers, unsafe schemes, frames, forms and unknown styles are removed."""
    assert gone not in markdown_to_html(dirty)


def test_sanitising_keeps_what_the_allowlist_names():
    """Tables, images on https, mailto links and allowed styles survive."""
    clean = sanitise(
        '<table><tr><td style="text-align:right">1</td></tr></table>'
        '<img src="https://example.org/a.png" alt="A"><a href="mailto:a@example.org">m</a>'
    )
    assert "<td" in clean and "text-align:right" in clean
    assert 'src="https://example.org/a.png"' in clean and 'href="mailto:a@example.org"' in clean


def test_raw_html_in_the_body_is_sanitised_in_the_message(app, monthly_news, make):
    """Whatever the editor pastes, the rendered message carries no script."""
    issue = make_issue(
        make, [monthly_news], body='Hi\n\n<script>alert(1)</script><b onclick="x()">bold</b>'
    )
    html = render_issue(issue).html
    assert "<script>alert" not in html and "onclick" not in html and "<b>bold</b>" in html


def test_text_part_is_made_from_the_same_markdown():
    """Links are spelt out, lists and quotes kept, emphasis markers dropped, no HTML."""
    text = markdown_to_text(
        "# Title\n\nSee *the* [plan](https://example.org/plan).\n\n- one\n- two\n\n> quoted\n\n"
        "1. first\n2. second\n\n<b>raw</b> html"
    )
    assert "Title\n=====" in text
    assert "See the plan (https://example.org/plan)." in text
    assert "- one\n- two" in text
    assert "> quoted" in text
    assert "1. first\n2. second" in text
    assert "raw html" in text and "<b>" not in text


def test_footer_has_identity_reason_and_every_link(app, monthly_news, make):
    """ORG_NAME, ORG_ADDRESS, why, unsubscribe, preferences, privacy and web version, both parts."""
    issue = make_issue(make, [monthly_news])
    rendered = render_issue(issue)
    for part in (rendered.html, rendered.text):
        assert "Local Digital Coalition" in part and "1 High Street, Leeds LS1 1AA" in part
        assert "because you subscribed to Monthly news" in part
        assert "NLunsubscribeURL7q" in part and "NLpreferencesURL2m" in part
        assert "http://localhost/privacy" in part
        assert f"http://localhost/archive/{issue.id}" in part


def test_a_private_list_gets_a_signed_web_version_link(app, make):
    """No archive page for a private list: the view-in-browser link is a signed /web/ link."""
    private = make.list(slug="board", name="Board", is_public=False)
    issue = make_issue(make, [private])
    text = render_issue(issue).text
    assert "/archive/" not in text
    assert "http://localhost/web/" in text


def test_list_name_is_filled_once_and_escaped_in_html(app, make):
    """{{ list.name }} is the primary list's name, HTML-escaped in the HTML part only."""
    odd = make.list(slug="odd", name="Tom & Jerry")
    issue = make_issue(make, [odd], subject="News for {{ list.name }}", body="On {{ list.name }}")
    rendered = render_issue(issue)
    assert rendered.subject == "News for Tom & Jerry"
    assert "On Tom &amp; Jerry" in rendered.html
    assert "On Tom & Jerry" in rendered.text


def test_plain_layout_has_no_heading(app, monthly_news, make):
    """The plain layout leaves the subject out of the body."""
    issue = make_issue(make, [monthly_news], subject="Letter", body="Dear all")
    update_issue(issue, "Letter", "Dear all", ["news"], actor="test", layout="plain")
    html = render_issue(issue).html
    assert "<h1" not in html and "Dear all" in html


def test_preheader_is_hidden_at_the_top(app, monthly_news, make):
    """The preheader is the first text of the body, hidden from view."""
    issue = make_issue(make, [monthly_news])
    update_issue(issue, issue.subject, "Body", ["news"], actor="test", preheader="In short: cake")
    html = render_issue(issue).html
    assert html.index("In short: cake") < html.index("Body")
    assert "display: none" in html[: html.index("In short: cake")][-200:]


def test_size_over_100_kb_is_flagged(app, monthly_news, make):
    """A long issue is flagged as too big for Gmail; a short one is not."""
    short = make_issue(make, [monthly_news], body="Short")
    assert not render_issue(short).too_big
    long = make_issue(
        make, [monthly_news], body="\n\n".join(f"Paragraph {n} " + "word " * 40 for n in range(600))
    )
    rendered = render_issue(long)
    assert rendered.html_bytes > SIZE_WARNING_BYTES and rendered.too_big


def test_web_version_names_nobody_and_carries_no_token(app, monthly_news, make):
    """Placeholders become neutral text and the footer has no personal links."""
    issue = make_issue(
        make, [monthly_news], subject="Hi {{ subscriber.name }}",
        body="Dear {{ subscriber.name }} ({{ subscriber.email }}), [leave]({{ unsubscribe_url }})",
    )  # fmt: skip
    web = render_issue(issue, web=True)
    assert web.subject == "Hi"  # the public title leaves the personal part out
    assert "NL" not in web.html.replace("NLT", "")  # no marker left
    assert "Dear reader (your email address)" in web.html
    assert "/unsubscribe/" not in web.html and "/preferences/" not in web.html


def test_html_lines_are_packed_but_preformatted_text_keeps_its_breaks(app, monthly_news, make):
    """Line breaks outside <pre> become spaces (fewer lines to send); code blocks stay as typed."""
    issue = make_issue(
        make, [monthly_news], body="Intro\nparagraph\n\n```\nline one\n  line two\n```\n\n- a\n- b"
    )
    html = render_issue(issue).html
    assert "<pre" in html and "line one\n  line two\n" in html
    outside = html.split("<pre", 1)[0] + html.split("</pre>", 1)[1]
    assert "\n" not in outside
    assert "Intro paragraph" in html and "<li>a</li>" in html
