"""Webhook channel: signed JSON POSTs so customers can feed reminders into their own systems."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from config.settings import Settings
from workers.channels import DeliveryFailed, OutgoingMessage, PermanentDeliveryFailure
from workflow.domain.definition import Channel as ChannelName

SIGNATURE_HEADER = "X-Icpflow-Signature"
TIMESTAMP_HEADER = "X-Icpflow-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# Client errors that say "later", not "never".
_RETRYABLE_STATUSES = frozenset({408, 429})


def sign(secret: str, body: bytes) -> str:
    """The signature header value: receivers authenticate the exact bytes they were sent."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    name = ChannelName.WEBHOOK

    def __init__(self, settings: Settings) -> None:
        self._secret = settings.webhook_secret
        self._timeout = settings.webhook_timeout_seconds

    def send(self, message: OutgoingMessage) -> None:
        body = json.dumps(message.as_document(), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            SIGNATURE_HEADER: sign(self._secret, body),
            TIMESTAMP_HEADER: str(int(time.time())),
        }
        try:
            response = httpx.post(
                message.recipient, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentDeliveryFailure(f"unusable webhook URL: {exc}") from exc
        except httpx.RequestError as exc:
            raise DeliveryFailed(f"webhook request failed: {exc!r}") from exc
        if response.is_success:
            return
        # Error details name the status only: webhook URLs often embed access tokens.
        detail = f"webhook answered HTTP {response.status_code}"
        if response.status_code in _RETRYABLE_STATUSES or response.is_server_error:
            raise DeliveryFailed(detail)
        raise PermanentDeliveryFailure(detail)
