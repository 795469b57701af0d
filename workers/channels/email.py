"""Email channel over SMTP, since every customer's ops team already reads a mailbox."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from config.settings import Settings
from workers.channels import DeliveryFailed, OutgoingMessage, PermanentDeliveryFailure
from workflow.domain.definition import Channel as ChannelName

# Settings has no SMTP timeout; without one a stalled server would pin a worker thread forever.
SMTP_TIMEOUT_SECONDS = 30.0


class EmailChannel:
    name = ChannelName.EMAIL

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def send(self, message: OutgoingMessage) -> None:
        email = self._compose(message)
        s = self._settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _reply_failure(code, reply) from exc
        except smtplib.SMTPResponseException as exc:
            raise _reply_failure(exc.smtp_code, exc.smtp_error) from exc
        except OSError as exc:
            # Also the other SMTPException subclasses (disconnects, missing extensions).
            raise DeliveryFailed(f"SMTP {s.smtp_host}:{s.smtp_port} failed: {exc}") from exc

    def _compose(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        try:
            email["From"] = self._settings.smtp_from
            email["To"] = message.recipient
            email["Subject"] = message.subject
            email["Date"] = formatdate(usegmt=True)
            email["Message-ID"] = message_id(message.idempotency_key, self._settings.smtp_from)
            email["X-Idempotency-Key"] = message.idempotency_key
        except ValueError as exc:
            # Header values with line breaks: the same input will be rejected every time.
            raise PermanentDeliveryFailure(f"cannot build email headers: {exc}") from exc
        email.set_content(message.body)
        return email


def message_id(idempotency_key: str, sender: str) -> str:
    """Hash the key so a resend carries the same Message-ID (mail clients and archives then
    collapse duplicates) while keys of any length or charset stay a valid msg-id."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "icpflow.invalid"
    return f"<{digest}@{domain}>"


def _reply_failure(code: int, reply: bytes | str) -> Exception:
    """RFC 5321: 5xx replies are permanent for this message, 4xx (and garbled ones) transient."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    detail = f"SMTP server replied {code} {text}"
    if 500 <= code < 600:
        return PermanentDeliveryFailure(detail)
    return DeliveryFailed(detail)
