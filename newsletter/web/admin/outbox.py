"""Admin pages: the outbox of mail captured by the built-in sink, and the test message."""

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from newsletter.audit import record
from newsletter.background import enqueue
from newsletter.extensions import db
from newsletter.mail.outbox import captured_message, outbox_page, raw_message
from newsletter.web.admin.blueprint import bp
from newsletter.web.admin.limits import test_sends_limited
from newsletter.web.headers import outbox_html_view
from newsletter.web.params import to_id

# Longer than any address or subject anyone searches for; a longer term is cut, not refused.
MAX_TERM = 200


@bp.get("/outbox")
def outbox_index():
    """Captured mail, newest first, keyset-paged; `q` finds it by recipient or subject."""
    term = " ".join(request.args.get("q", "").split())[:MAX_TERM]
    before = request.args.get("before", type=to_id)
    page = outbox_page(before, term)
    return render_template("admin/outbox_index.html", page=page, term=term, paged=before)


@bp.post("/outbox/test")
@test_sends_limited
def outbox_send_test():
    """Queue the test message to the signed-in account's own address; audited."""
    record("mail.test_requested", target=f"account:{current_user.id}")
    db.session.commit()
    enqueue.send_test_mail(current_user.id)
    flash(f"A test message is on its way to {current_user.email}.", "success")
    return redirect(url_for("admin.outbox_index"))


@bp.get("/outbox/<int:message_id>")
def outbox_show(message_id: int):
    return render_template("admin/outbox_show.html", message=captured_message(message_id))


@bp.get("/outbox/<int:message_id>/message.eml")
def outbox_raw(message_id: int):
    """The message's raw source, as received, to open in a mail client or keep."""
    return Response(
        raw_message(message_id),
        mimetype="message/rfc822",
        headers={"Content-Disposition": f"attachment; filename=message-{message_id}.eml"},
    )


@bp.get("/outbox/<int:message_id>/html")
@outbox_html_view
def outbox_html(message_id: int):
    html = captured_message(message_id).html
    if html is None:
        abort(404)
    return Response(links_open_in_a_new_tab(html), mimetype="text/html")


_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_NEW_TAB = '<base target="_blank">'


def links_open_in_a_new_tab(html: str) -> str:
    """The message with its links opening in a new tab, as a mail client opens them.

    In the frame a link would open inside the sandbox, where our pages refuse to be framed;
    a new tab (CSP_OUTBOX_HTML lets it leave the sandbox) shows the page the link leads to.
    """
    head = _HEAD.search(html)
    if head is None:
        return _NEW_TAB + html
    return html[: head.end()] + _NEW_TAB + html[head.end() :]
