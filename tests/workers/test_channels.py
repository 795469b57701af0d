"""Channels against real peers: each test sends through a real socket and inspects what arrived."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from config.settings import Settings
from tests.http_peer import verify_signature
from workers.channels import (
    DeliveryFailed,
    OutgoingMessage,
    PermanentDeliveryFailure,
    get_channel,
)
from workers.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from workflow.domain.definition import Channel

if TYPE_CHECKING:
    from tests.http_peer import HTTPPeer
    from tests.workers.conftest import SMTPPeer

SECRET = "test-webhook-secret"
SUBJECT = "【提醒】京ICP备12345678号 管局审核即将超时 / MIIT review deadline approaching"
BODY = (
    "您好，备案 F-42 的管局审核已进行 19 个工作日。\n"
    "Filing F-42 has been under MIIT review for 19 working days."
)
PAYLOAD = {"filing_id": 42, "kind": "miit_reminder", "due_at": "2025-03-01T00:00:00+00:00"}


def make_settings(**overrides: Any) -> Settings:
    return Settings(**{"webhook_secret": SECRET, "webhook_timeout_seconds": 5, **overrides})


def make_message(recipient: str, key: str = "42:miit_reminder:2025-03-01") -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=key, recipient=recipient, subject=SUBJECT, body=BODY, payload=PAYLOAD
    )


def smtp_settings(peer: SMTPPeer) -> Settings:
    return make_settings(smtp_host=peer.host, smtp_port=peer.port, smtp_from="icpflow@example.cn")


# --- log -------------------------------------------------------------------------------------


def test_log_channel_appends_one_json_line_per_message(tmp_path: Path) -> None:
    log_file = tmp_path / "notifications" / "sent.jsonl"
    channel = get_channel("log", make_settings(notify_log_file=log_file))

    channel.send(make_message("ops", key="k1"))
    channel.send(make_message("ops", key="k2"))

    records = [json.loads(line) for line in log_file.read_text("utf-8").splitlines()]
    assert [(r["idempotency_key"], r["subject"], r["payload"]) for r in records] == [
        ("k1", SUBJECT, PAYLOAD),
        ("k2", SUBJECT, PAYLOAD),
    ]


def test_log_channel_makes_its_directory_again_when_it_is_removed(tmp_path: Path) -> None:
    log_file = tmp_path / "notifications" / "sent.jsonl"
    channel = get_channel("log", make_settings(notify_log_file=log_file))
    channel.send(make_message("ops", key="k1"))
    log_file.unlink()
    log_file.parent.rmdir()

    channel.send(make_message("ops", key="k2"))

    [record] = [json.loads(line) for line in log_file.read_text("utf-8").splitlines()]
    assert record["idempotency_key"] == "k2"


def test_log_channel_without_file_writes_to_notifications_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = get_channel("log", make_settings(notify_log_file=None))

    with caplog.at_level(logging.INFO, logger="icpflow.notifications"):
        channel.send(make_message("ops"))

    [record] = [r for r in caplog.records if r.name == "icpflow.notifications"]
    assert json.loads(record.getMessage())["idempotency_key"] == "42:miit_reminder:2025-03-01"


# --- email -----------------------------------------------------------------------------------


def test_email_delivers_chinese_subject_and_body_intact(smtp_server: SMTPPeer) -> None:
    get_channel("email", smtp_settings(smtp_server)).send(make_message("ops@example.cn"))

    [mail] = smtp_server.handler.received
    assert mail.rcpt_tos == ["ops@example.cn"]
    assert mail.message["Subject"] == SUBJECT
    assert mail.message.get_content().rstrip("\n") == BODY


def test_email_carries_idempotency_key_header(smtp_server: SMTPPeer) -> None:
    get_channel("email", smtp_settings(smtp_server)).send(make_message("ops@example.cn"))

    [mail] = smtp_server.handler.received
    assert mail.message["X-Idempotency-Key"] == "42:miit_reminder:2025-03-01"


def test_email_message_id_is_derived_from_idempotency_key(smtp_server: SMTPPeer) -> None:
    channel = get_channel("email", smtp_settings(smtp_server))

    channel.send(make_message("ops@example.cn", key="same"))
    channel.send(make_message("ops@example.cn", key="same"))
    channel.send(make_message("ops@example.cn", key="other"))

    first, resend, other = (mail.message["Message-ID"] for mail in smtp_server.handler.received)
    assert first == resend
    assert first != other


def test_email_recipient_refused_with_550_is_permanent(smtp_server: SMTPPeer) -> None:
    channel = get_channel("email", smtp_settings(smtp_server))

    with pytest.raises(PermanentDeliveryFailure, match="550"):
        channel.send(make_message("nobody@refused.test"))


def test_email_recipient_deferred_with_451_is_transient(smtp_server: SMTPPeer) -> None:
    channel = get_channel("email", smtp_settings(smtp_server))

    with pytest.raises(DeliveryFailed, match="451"):
        channel.send(make_message("ops@busy.test"))


def test_email_server_down_is_transient(unused_port: int) -> None:
    channel = get_channel("email", make_settings(smtp_host="127.0.0.1", smtp_port=unused_port))

    with pytest.raises(DeliveryFailed):
        channel.send(make_message("ops@example.cn"))


# --- webhook ---------------------------------------------------------------------------------


def test_webhook_posts_document_with_idempotency_key(http_peer: HTTPPeer) -> None:
    get_channel("webhook", make_settings()).send(make_message(http_peer.url("/hook")))

    [request] = http_peer.recorded
    assert request.headers["Idempotency-Key"] == "42:miit_reminder:2025-03-01"
    assert json.loads(request.body) == {
        "idempotency_key": "42:miit_reminder:2025-03-01",
        "subject": SUBJECT,
        "body": BODY,
        "payload": PAYLOAD,
    }


def test_webhook_signature_is_hmac_sha256_of_exact_body(http_peer: HTTPPeer) -> None:
    get_channel("webhook", make_settings()).send(make_message(http_peer.url("/hook")))

    [request] = http_peer.recorded
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"


def test_webhook_sends_current_unix_timestamp(http_peer: HTTPPeer) -> None:
    get_channel("webhook", make_settings()).send(make_message(http_peer.url("/hook")))

    [request] = http_peer.recorded
    assert abs(int(request.headers[TIMESTAMP_HEADER]) - time.time()) < 60


def test_webhook_signature_verifies_against_received_body(http_peer: HTTPPeer) -> None:
    get_channel("webhook", make_settings()).send(make_message(http_peer.url("/hook")))

    [request] = http_peer.recorded
    assert verify_signature(SECRET, request.body, request.headers[SIGNATURE_HEADER])


def test_webhook_signature_rejects_tampered_body(http_peer: HTTPPeer) -> None:
    get_channel("webhook", make_settings()).send(make_message(http_peer.url("/hook")))

    [request] = http_peer.recorded
    tampered = request.body.replace(b"42", b"43")
    assert tampered != request.body
    assert not verify_signature(SECRET, tampered, request.headers[SIGNATURE_HEADER])


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, DeliveryFailed),
        (503, DeliveryFailed),
        (408, DeliveryFailed),
        (429, DeliveryFailed),
        (400, PermanentDeliveryFailure),
        (404, PermanentDeliveryFailure),
    ],
)
def test_webhook_error_status_maps_to_failure_kind(
    http_peer: HTTPPeer, status: int, expected: type[Exception]
) -> None:
    channel = get_channel("webhook", make_settings())

    with pytest.raises(expected, match=str(status)):
        channel.send(make_message(http_peer.url(f"/status/{status}")))


def test_webhook_timeout_is_transient(http_peer: HTTPPeer) -> None:
    timeout = http_peer.slow_seconds / 5
    channel = get_channel("webhook", make_settings(webhook_timeout_seconds=timeout))

    with pytest.raises(DeliveryFailed, match="Timeout"):
        channel.send(make_message(http_peer.url("/slow")))


def test_webhook_server_down_is_transient(unused_port: int) -> None:
    channel = get_channel("webhook", make_settings())

    with pytest.raises(DeliveryFailed):
        channel.send(make_message(f"http://127.0.0.1:{unused_port}/hook"))


def test_webhook_non_http_url_is_permanent() -> None:
    channel = get_channel("webhook", make_settings())

    with pytest.raises(PermanentDeliveryFailure):
        channel.send(make_message("ftp://example.cn/hook"))


# --- chat (apprise) --------------------------------------------------------------------------


def test_chat_json_url_posts_subject_and_body(http_peer: HTTPPeer) -> None:
    get_channel("chat", make_settings()).send(make_message(http_peer.url("/robot", "json")))

    [request] = http_peer.recorded
    document = json.loads(request.body)
    assert (request.path, document["title"], document["message"]) == ("/robot", SUBJECT, BODY)


def test_chat_rejected_by_service_is_transient(http_peer: HTTPPeer) -> None:
    channel = get_channel("chat", make_settings())

    with pytest.raises(DeliveryFailed):
        channel.send(make_message(http_peer.url("/status/500", "json")))


def test_chat_url_apprise_cannot_parse_is_permanent() -> None:
    channel = get_channel("chat", make_settings())

    with pytest.raises(PermanentDeliveryFailure):
        channel.send(make_message("no-such-schema://robot/token"))


# --- registry --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(Channel))
def test_every_declared_channel_has_an_implementation(name: Channel) -> None:
    assert get_channel(name, make_settings()).name == name


def test_get_channel_unknown_name_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="log, email, webhook, chat"):
        get_channel("sms", make_settings())
