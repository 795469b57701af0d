"""Security headers: pages forbid inline code and framing; the API renders nothing at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

if TYPE_CHECKING:
    pass

COMMON = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize("path", ["/login", "/api/v1/filings", "/static/icpflow.css"])
def test_every_response_carries_the_common_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert {name: headers.get(name) for name in COMMON} == COMMON


def test_pages_allow_only_their_own_scripts_and_styles(client: TestClient) -> None:
    policy = client.get("/login").headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    page = client.get("/login").text
    assert "<script" not in page and "<style" not in page and "style=" not in page


def test_the_api_is_a_document_that_renders_nothing(client: TestClient) -> None:
    policy = client.get("/api/v1/filings").headers["content-security-policy"]
    assert policy == "default-src 'none'; frame-ancestors 'none'"
