"""A real SMTP server for tests: aiosmtpd on a free port, messages parsed with `email`."""

from __future__ import annotations

import asyncio
import email
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class CapturedMessage:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    mail_options: list[str] = field(default_factory=list)
    message: EmailMessage = field(init=False)

    def __post_init__(self) -> None:
        # Parsed from text: the bytes parser would not read RFC 6532's raw UTF-8 headers.
        text = self.raw.decode("utf-8", errors="surrogateescape")
        self.message = email.message_from_string(text, policy=policy.default)

    def __getitem__(self, header: str) -> str | None:
        return self.message[header]

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.sink.refuse.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            drop = self.sink.drop_connections > 0
            self.sink.drop_connections -= drop
        if drop:
            # Hang up without a reply, as a relay that crashed would.
            server.transport.close()
            return "421 closing"
        if self.sink.data_delay:
            # A slow relay: the reply to the message comes this many seconds late.
            await asyncio.sleep(self.sink.data_delay)
        captured = CapturedMessage(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.content,
            list(envelope.mail_options),
        )
        with self.sink.lock:
            self.sink.messages.append(captured)
        return "250 Message accepted for delivery"


class SmtpSink:
    """Collects every message sent to 127.0.0.1:port; offers SMTPUTF8 unless told not to."""

    def __init__(self, port: int, smtputf8: bool = True) -> None:
        self.port = port
        self.messages: list[CapturedMessage] = []
        self.lock = threading.Lock()
        # Replies to RCPT TO for chosen addresses, e.g. {"a@example.com": "550 5.1.1 No"}.
        self.refuse: dict[str, str] = {}
        # Hang up on this many of the next messages instead of accepting them.
        self.drop_connections = 0
        # Seconds to wait before accepting each message (a slow relay).
        self.data_delay = 0.0
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def recipients(self) -> list[str]:
        """Every envelope recipient of every message so far, repeats included."""
        with self.lock:
            return [rcpt for message in self.messages for rcpt in message.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[CapturedMessage]:
        """Wait until `count` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
