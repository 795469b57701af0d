"""A real SMTP peer for the email channel on 127.0.0.1 (the HTTP peer is tests/http_peer.py).

Its behaviour is chosen by the address, so a test reads as what it sends:
mail to ``@refused.test`` gets a 550, to ``@busy.test`` a 451; everything else is accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.delivery_kit import free_port

SMTP_REFUSALS = {
    "refused.test": "550 5.1.1 No such user",
    "busy.test": "451 4.3.0 Mailbox temporarily unavailable",
}


@pytest.fixture
def unused_port() -> int:
    """Where a peer would be if it were up: connecting there is refused."""
    return free_port()


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
        message = message_from_bytes(content, policy=policy.default)
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
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SMTPPeer(controller.hostname, controller.port, handler)
    finally:
        controller.stop()
