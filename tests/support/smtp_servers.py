"""aiosmtpd servers with AUTH, STARTTLS, implicit TLS and scripted refusals, for transport tests."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.servers import free_port


@dataclass
class Received:
    peer: tuple
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class RecordingHandler:
    """Keeps every message; refuses recipients whose local part names an SMTP reply code.

    "reply-550@…" is refused at RCPT; "data-451@…" is accepted there and refused after DATA;
    "drop@…" has the connection closed without a reply after DATA; "multi@…" gets multi-line
    replies to RCPT and after DATA.
    """

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # "reply-550@example.org" is refused with 550, and so on.
        local = address.partition("@")[0]
        if local.startswith("reply-"):
            code = local.removeprefix("reply-")
            return f"{code}-scripted refusal\r\n{code} second line"
        envelope.rcpt_tos.append(address)
        if local == "multi":
            return "250-first line\r\n250-second line\r\n250 OK"
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        local = envelope.rcpt_tos[0].partition("@")[0]
        if local.startswith("data-"):
            return f"{local.removeprefix('data-')} scripted refusal of the message"
        if local == "drop":
            server.transport.close()
            return "421 closing"
        with self.lock:
            self.messages.append(
                Received(
                    session.peer, envelope.mail_from, list(envelope.rcpt_tos), envelope.content
                )
            )
        if local == "multi":
            return "250-Message accepted\r\n250 for delivery"
        return "250 Message accepted for delivery"


class PasswordChecker:
    """An aiosmtpd authenticator that accepts one login and records every attempt."""

    def __init__(self, login: str, password: str) -> None:
        self.expected = (login.encode(), password.encode())
        self.attempts: list[tuple[bytes, bytes]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        # handled=False makes aiosmtpd answer 535 itself; its default leaves the client waiting.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append((auth_data.login, auth_data.password))
        accepted = (auth_data.login, auth_data.password) == self.expected
        return AuthResult(success=accepted, handled=False)


def start_server(handler, **options) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


def server_tls_context(ca) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 signed by the throwaway CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def client_tls_context(ca) -> ssl.SSLContext:
    """The default verifying client context, trusting the throwaway CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context
