"""Chat channel through apprise, which already speaks DingTalk, WeCom, Feishu, Slack and more."""

from __future__ import annotations

import apprise

from config.settings import Settings
from workers.channels import DeliveryFailed, OutgoingMessage, PermanentDeliveryFailure
from workflow.domain.definition import Channel as ChannelName


class ChatChannel:
    """The recipient is an apprise URL (``dingtalk://``, ``wecombot://``, ``feishu://`` ...)."""

    name = ChannelName.CHAT

    def __init__(self, settings: Settings) -> None:
        # Chat robots are webhooks, so they share the webhook time budget.
        self._timeout = settings.webhook_timeout_seconds

    def send(self, message: OutgoingMessage) -> None:
        # instantiate() takes exactly one URL, where Apprise.add() would split a list of them.
        service = apprise.Apprise.instantiate(message.recipient)
        if service is None:
            raise PermanentDeliveryFailure("apprise cannot use this chat URL")
        with apprise.Apprise(service).notify(
            body=message.body,
            title=message.subject,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._timeout,
        ) as result:
            if not result:
                reasons = "; ".join(entry.message for entry in result.logs())
                raise DeliveryFailed(f"chat delivery failed: {reasons or result.status.name}")
