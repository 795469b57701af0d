"""The one HTTP peer the tests send webhooks and chat messages to: a real server on 127.0.0.1.

It records every request and answers ``status`` (200 unless a test changes it). The path can
choose instead, so a test reads as what it sends: ``POST /status/<code>`` answers <code>,
``POST /slow`` answers after ``slow_seconds``. With ``hold`` set it keeps each request open until
``release`` is set and then answers 503, as a peer that went away mid-request would.
``delivered`` counts the requests it accepted per Idempotency-Key. ``verify_signature`` checks
a webhook's signature as a receiver would.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

STATUS_PREFIX = "/status/"
SLOW_PATH = "/slow"


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a webhook receiver does with the signature header: the HMAC-SHA256 of the exact
    bytes received under the shared secret, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: Message
    body: bytes


@dataclass
class HTTPPeer:
    host: str
    port: int
    status: int = 200
    slow_seconds: float = 1.0
    recorded: list[RecordedRequest] = field(default_factory=list)
    delivered: Counter[str] = field(default_factory=Counter)
    hold: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{self.port}{path}"

    @property
    def received(self) -> list[str]:
        """The Idempotency-Key of every request, accepted or not, in arrival order."""
        return [r.headers.get("Idempotency-Key", "") for r in self.recorded]

    def answer(self, path: str) -> int:
        if path == SLOW_PATH:
            time.sleep(self.slow_seconds)
        if self.hold.is_set():
            self.holding.set()
            self.release.wait(30)
            return 503
        if path.startswith(STATUS_PREFIX):
            return int(path.removeprefix(STATUS_PREFIX))
        return self.status


class _PeerServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PeerHandler)
        self.peer = HTTPPeer("127.0.0.1", self.server_address[1])


class _PeerHandler(BaseHTTPRequestHandler):
    server: _PeerServer

    def do_POST(self) -> None:
        peer = self.server.peer
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        peer.recorded.append(RecordedRequest(self.path, self.headers, body))
        status = peer.answer(self.path)
        # Counted before the answer leaves: a test that sees the delivery recorded (the
        # worker got its 200) must find it counted here too.
        if 200 <= status < 300:
            peer.delivered[self.headers.get("Idempotency-Key", "")] += 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output free of access logs."""


@pytest.fixture
def http_peer() -> Iterator[HTTPPeer]:
    server = _PeerServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.peer
    finally:
        server.peer.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
