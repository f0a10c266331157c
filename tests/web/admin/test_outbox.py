"""The admin outbox: captured mail listed, shown safely, and the test message end to end."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from newsletter.background.enqueue import QUEUE_SYSTEM
from newsletter.extensions import db
from newsletter.mail import SMTP_POLICY
from newsletter.mail.sink import store_message
from newsletter.mail.transport import SmtpSettings, SmtpTransport
from newsletter.models import OutboxMessage


def html_message(subject: str = "Spring issue") -> bytes:
    message = EmailMessage()
    message["From"] = "Coalition <news@example.org>"
    message["To"] = "reader@example.com"
    message["Subject"] = subject
    message["List-Id"] = "News <news.example.org>"
    message.set_content("Plain words for the reader.")
    message.add_alternative("<p>Rich <b>words</b></p><script>alert('x')</script>", subtype="html")
    return message.as_bytes(policy=SMTP_POLICY)


def captured(app, raw: bytes | None = None, to: str = "reader@example.com") -> int:
    return store_message(app, "bounces@example.org", [to], raw or html_message())


def test_outbox_lists_messages_newest_first(app, admin_client):
    """The index shows recipient and subject, the newest message at the top."""
    captured(app, html_message("Older"))
    captured(app, html_message("Newer"), to="second@example.com")
    page = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert page.index("Newer") < page.index("Older")
    assert "second@example.com" in page
    assert "Send a test message to me" in page


def test_outbox_pages_hold_fifty_messages(app, admin_client):
    """Fifty messages a page, keyset-paged: the rest are a link to older messages away."""
    for n in range(51):
        captured(app, html_message(f"Message {n:02d}"))
    first = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert len(re.findall(r"Message \d\d", first)) == 50
    older = re.search(r'href="(/admin/outbox\?before=\d+)" rel="next">Older messages', first)
    second = admin_client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r"Message \d\d", second) == ["Message 00"]
    assert "Older messages" not in second and "Newest messages" in second


def test_outbox_search_finds_recipient_or_subject_in_any_case(app, admin_client):
    """One box searches recipients and subjects; LIKE's wildcards are taken literally."""
    captured(app, html_message("Spring digital fund"), to="ann@example.org")
    captured(app, html_message("Autumn update"), to="bob@example.net")
    captured(app, html_message("100% growth_report"), to="cy@example.org")
    by_subject = admin_client.get("/admin/outbox?q=DIGITAL").get_data(as_text=True)
    assert "Spring digital fund" in by_subject and "Autumn update" not in by_subject
    assert "Messages matching “DIGITAL”" in by_subject
    by_recipient = admin_client.get("/admin/outbox?q=example.net").get_data(as_text=True)
    assert "Autumn update" in by_recipient and "Spring digital fund" not in by_recipient
    literal = admin_client.get("/admin/outbox?q=0%25 g").get_data(as_text=True)
    assert "growth_report" in literal and "Autumn update" not in literal
    assert "growth_report" not in admin_client.get("/admin/outbox?q=100_").get_data(as_text=True)
    none = admin_client.get("/admin/outbox?q=nobody").get_data(as_text=True)
    assert "No message has “nobody” in its recipients or subject." in none


def test_outbox_search_pages_keep_the_search(app, admin_client):
    """The older-messages link of a search keeps its term, and finds only matches."""
    for n in range(120):
        captured(app, html_message(f"Match {n:03d}" if n % 2 else f"Other {n:03d}"))
    first = admin_client.get("/admin/outbox?q=match").get_data(as_text=True)
    assert len(re.findall(r"Match \d+", first)) == 50 and "Other" not in first
    link = re.search(r'href="(/admin/outbox\?[^"]+)" rel="next"', first).group(1)
    assert "q=match" in link
    second = admin_client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert len(re.findall(r"Match \d+", second)) == 10 and "Other" not in second
    assert "Match 001" in second and "Older messages" not in second


def test_each_message_source_downloads_as_an_eml_file(app, admin_client):
    """The raw message as received, as message/rfc822, saved as message-<id>.eml, private."""
    raw = html_message()
    message_id = captured(app, raw)
    page = admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    link = f"/admin/outbox/{message_id}/message.eml"
    assert f'href="{link}"' in page
    assert f'href="{link}"' in admin_client.get("/admin/outbox").get_data(as_text=True)
    response = admin_client.get(link)
    assert response.status_code == 200
    assert response.mimetype == "message/rfc822"
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=message-{message_id}.eml"
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data == raw
    assert admin_client.get("/admin/outbox/999999/message.eml").status_code == 404


def test_message_page_shows_summary_headers_text_and_sandboxed_html(app, admin_client):
    """The message page has its headers, the text part, and the HTML in a sandboxed iframe."""
    message_id = captured(app)
    page = admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "Spring issue" in page
    assert "<td>List-Id</td><td>News &lt;news.example.org&gt;</td>" in page
    assert "<pre>Plain words for the reader.\n</pre>" in page
    iframe = re.search(r"<iframe[^>]*>", page).group(0)
    # No script, forms or same origin; links may open a tab of their own.
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in iframe
    assert f'src="/admin/outbox/{message_id}/html"' in iframe
    assert 'title="HTML version of the message"' in iframe
    assert "<script>" not in page


def test_html_part_is_served_under_a_script_free_sandbox(app, admin_client):
    """The HTML route returns the part with a CSP that sandboxes it, forbids script and
    fetches nothing from anywhere; links open in a new tab outside the sandbox."""
    message_id = captured(app)
    response = admin_client.get(f"/admin/outbox/{message_id}/html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Rich <b>words</b>" in body
    assert body.startswith('<base target="_blank">')
    policy = response.headers["Content-Security-Policy"]
    directives = {part.strip().split(" ")[0]: part.strip() for part in policy.split(";")}
    assert directives["frame-ancestors"] == "frame-ancestors 'self'"
    assert directives["sandbox"] == "sandbox allow-popups allow-popups-to-escape-sandbox"
    assert "script-src" not in directives
    assert "allow-scripts" not in policy and "allow-same-origin" not in policy
    assert "allow-forms" not in policy and "allow-top-navigation" not in policy
    assert directives["default-src"] == "default-src 'none'"
    assert directives["img-src"] == "img-src data:"
    assert directives["font-src"] == "font-src data:"


def test_the_new_tab_base_goes_into_the_messages_head(app, admin_client):
    """A full document gets its <base> first thing in <head>, so it governs every link."""
    message = EmailMessage()
    message["Subject"] = "Full document"
    message.set_content("Words.")
    message.add_alternative(
        '<!doctype html><html><HEAD lang="en"><title>T</title></HEAD><body><a href="x">x</a>',
        subtype="html",
    )
    message_id = captured(app, message.as_bytes(policy=SMTP_POLICY))
    body = admin_client.get(f"/admin/outbox/{message_id}/html").get_data(as_text=True)
    assert body.startswith('<!doctype html><html><HEAD lang="en"><base target="_blank"><title>')


def test_unknown_message_is_404(admin_client):
    """An id that does not exist is not found, page and HTML alike."""
    assert admin_client.get("/admin/outbox/999999").status_code == 404
    assert admin_client.get("/admin/outbox/999999/html").status_code == 404


def test_text_only_message_has_no_iframe_and_no_html(app, admin_client):
    """A message without an HTML part shows no iframe, and its HTML route is 404."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = "Just text"
    message.set_content("Only text.")
    message_id = captured(app, message.as_bytes())
    page = admin_client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "<iframe" not in page
    assert "Only text." in page
    assert admin_client.get(f"/admin/outbox/{message_id}/html").status_code == 404


def test_outbox_needs_a_login(app, client):
    """Anyone not signed in is sent to the login page."""
    message_id = captured(app)
    for path in (
        "/admin/outbox",
        f"/admin/outbox/{message_id}",
        f"/admin/outbox/{message_id}/html",
        f"/admin/outbox/{message_id}/message.eml",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]
    assert client.post("/admin/outbox/test").status_code in (302, 400)


def test_message_sent_through_the_sink_appears_in_the_outbox(app, admin_client, outbox_sink):
    """Real SMTP into the built-in sink, then the outbox page shows it."""
    with SmtpTransport(SmtpSettings(outbox_sink.host, outbox_sink.port)) as transport:
        transport.send(html_message("Through the sink"), "bounces@example.org", ["r@example.com"])
    page = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "Through the sink" in page


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage)).all()


def assert_test_message_for(account, rows: list[OutboxMessage], app) -> None:
    assert len(rows) == 1
    row = rows[0]
    assert row.recipients == account.email
    assert row.subject == f"Test message from {app.config['ORG_NAME']}"
    assert b"Auto-Submitted: auto-generated" in row.raw
    assert b"Message-ID: <" in row.raw
    assert b"\r\nDate: " in row.raw


def test_test_message_button_sends_through_the_worker(
    app, admin_client, admin_account, stub_broker, stub_worker, outbox_sink
):
    """Clicking the button enqueues the job; the worker mails the admin; the outbox shows it."""
    response = admin_client.post("/admin/outbox/test", follow_redirects=True)
    assert "A test message is on its way" in response.get_data(as_text=True)
    stub_broker.join(QUEUE_SYSTEM)
    stub_worker.join()
    assert_test_message_for(admin_account, outbox_rows(), app)
    page = admin_client.get("/admin/outbox").get_data(as_text=True)
    assert "Test message from" in page


@pytest.mark.redis
def test_test_message_button_through_redis(
    app, admin_client, admin_account, redis_broker, redis_worker, outbox_sink
):
    """The same path with a real Redis broker and worker."""
    admin_client.post("/admin/outbox/test")
    redis_broker.join(QUEUE_SYSTEM, timeout=10_000)
    redis_worker.join()
    assert_test_message_for(admin_account, outbox_rows(), app)
