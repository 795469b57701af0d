"""Notification channels: the only code that talks to mail servers, webhooks and chat services.

Channels never retry: a failure is raised as ``DeliveryFailed`` (worth retrying) or
``PermanentDeliveryFailure`` (not), and the Dramatiq actor owns backoff and dead-lettering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, assert_never

from config.settings import Settings
from workflow.domain.definition import Channel as ChannelName


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered, masked reminder for one recipient, as the worker hands it to a channel."""

    idempotency_key: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]

    def as_document(self) -> dict[str, Any]:
        """The recipient-free JSON form, so webhook receivers and log readers see one shape."""
        return {
            "idempotency_key": self.idempotency_key,
            "subject": self.subject,
            "body": self.body,
            "payload": self.payload,
        }


class DeliveryFailed(Exception):
    """The peer may accept the message later (outage, timeout, throttling): retry with backoff."""


class PermanentDeliveryFailure(Exception):
    """The peer rejected this message for good (bad address, client error): do not retry."""


class Channel(Protocol):
    name: ChannelName

    def send(self, message: OutgoingMessage) -> None: ...


# The channel modules import the types above, so they can only be loaded once those exist.
from workers.channels.chat import ChatChannel  # noqa: E402
from workers.channels.email import EmailChannel  # noqa: E402
from workers.channels.log import LogChannel  # noqa: E402
from workers.channels.webhook import WebhookChannel  # noqa: E402


def get_channel(name: str, settings: Settings) -> Channel:
    """Resolve a route's channel; a typo in a route must fail loudly, not drop mail. The match
    is exhaustive (mypy checks it), so a channel declared without an implementation cannot
    pass the type check."""
    try:
        channel = ChannelName(name)
    except ValueError:
        known = ", ".join(ChannelName)
        raise ValueError(f"unknown notification channel {name!r}; known: {known}") from None
    match channel:
        case ChannelName.LOG:
            return LogChannel(settings)
        case ChannelName.EMAIL:
            return EmailChannel(settings)
        case ChannelName.WEBHOOK:
            return WebhookChannel(settings)
        case ChannelName.CHAT:
            return ChatChannel(settings)
        case _:
            assert_never(channel)
