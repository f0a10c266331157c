"""Which SMTP server mail goes to: SMTP_URL, or this process's built-in sink without one.

The choice sits apart from both it chooses between, so that the production transport
(transport.py) knows nothing of the development sink (sink.py).
"""

from __future__ import annotations

from flask import Flask

from newsletter.mail.sink import ensure_sink
from newsletter.mail.transport import SmtpSettings, SmtpTransport, parse_smtp_url


def transport_for(app: Flask) -> SmtpTransport:
    """A transport to SMTP_URL, or to this process's built-in sink when SMTP_URL is unset."""
    url = app.config.get("SMTP_URL")
    if url:
        return SmtpTransport(parse_smtp_url(url))
    sink = ensure_sink(app)
    return SmtpTransport(SmtpSettings(host=sink.host, port=sink.port))
