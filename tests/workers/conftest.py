"""Real peers for the notification channels: an SMTP server and an HTTP server on 127.0.0.1.

Their behaviour is chosen by the address, so a test reads as what it sends:
mail to ``@refused.test`` gets a 550, to ``@busy.test`` a 451; ``POST /status/<code>`` answers
<code>, ``POST /slow`` answers after ``HTTPPeer.slow_seconds``; everything else is accepted.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

SMTP_REFUSALS = {
    "refused.test": "550 5.1.1 No such user",
    "busy.test": "451 4.3.0 Mailbox temporarily unavailable",
}

HTTP_STATUS_PREFIX = "/status/"
HTTP_SLOW_PATH = "/slow"
HTTP_SLOW_SECONDS = 1.0


def _free_port() -> int:
    """A port nothing listens on (the race with other processes is acceptable in tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unused_port() -> int:
    """Where a peer would be if it were up: connecting there is refused."""
    return _free_port()


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class RecordingSMTPHandler:
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = SMTP_REFUSALS.get(address.rpartition("@")[2])
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Back from wire CRLF to the "\n" line endings the sender composed with.
        content = cast(bytes, envelope.content).replace(b"\r\n", b"\n")
        message = cast(EmailMessage, message_from_bytes(content, policy=policy.default))
        mail = ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message)
        self.received.append(mail)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class SMTPPeer:
    host: str
    port: int
    handler: RecordingSMTPHandler


@pytest.fixture
def smtp_server() -> Iterator[SMTPPeer]:
    handler = RecordingSMTPHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SMTPPeer(controller.hostname, controller.port, handler)
    finally:
        controller.stop()


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: Message
    body: bytes


class _RecordingServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.recorded: list[RecordedRequest] = []


class _RecordingHandler(BaseHTTPRequestHandler):
    server: _RecordingServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.recorded.append(RecordedRequest(self.path, self.headers, body))
        if self.path == HTTP_SLOW_PATH:
            time.sleep(HTTP_SLOW_SECONDS)
        status = 200
        if self.path.startswith(HTTP_STATUS_PREFIX):
            status = int(self.path.removeprefix(HTTP_STATUS_PREFIX))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output free of access logs."""


@dataclass(frozen=True)
class HTTPPeer:
    host: str
    port: int
    recorded: list[RecordedRequest]
    slow_seconds: float = HTTP_SLOW_SECONDS

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"


@pytest.fixture
def http_server() -> Iterator[HTTPPeer]:
    server = _RecordingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield HTTPPeer("127.0.0.1", server.server_address[1], server.recorded)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
