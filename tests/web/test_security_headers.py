"""Security headers: pages forbid inline code and framing; the API renders nothing at all."""

from __future__ import annotations

import re
from collections.abc import Callable
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


def test_a_signed_in_page_is_not_kept_by_the_browser_for_back_after_sign_out(
    signed_in: Callable[[str], TestClient],
) -> None:
    assert signed_in("viewer").get("/").headers["cache-control"] == "no-store"


def test_static_files_may_still_be_cached(client: TestClient) -> None:
    assert "no-store" not in client.get("/static/icpflow.css").headers.get("cache-control", "")


@pytest.mark.parametrize("path", ["/login", "/docs", "/redoc"])
def test_pages_have_no_inline_script_or_style(client: TestClient, path: str) -> None:
    page = client.get(path).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert scripts and all('src="/' in attributes and not body for attributes, body in scripts)
    assert "<style" not in page and "style=" not in page


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_load_nothing_from_elsewhere(client: TestClient, path: str) -> None:
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    assert "http" not in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assert "http" not in response.text.replace('lang="en"', "")


def test_the_docs_assets_are_served_from_the_package(client: TestClient) -> None:
    response = client.get("/docs-assets/swagger-ui-bundle.js")
    assert response.status_code == 200 and len(response.content) > 100_000


def test_the_api_is_a_document_that_renders_nothing(client: TestClient) -> None:
    policy = client.get("/api/v1/filings").headers["content-security-policy"]
    assert policy == "default-src 'none'; frame-ancestors 'none'"
