"""Security headers on every response, chosen by what the response is.

Pages get a Content-Security-Policy that allows only this origin's own files, no inline script
or style (the stylesheet is a static file), no framing and forms posting only here; anything
that is not HTML (the API, metrics, static files) gets the policy of a document that should
never render anything. The API documentation pages load only this origin's files too (see
``web.docs``), but their UIs set styles at run time and ReDoc starts a worker from a blob, so
those two paths allow inline styles and blob workers, and nothing from elsewhere.

Pages are not stored by the browser (``Cache-Control: no-store``): they show filings to the
signed-in, and Back after signing out would show them again from the cache.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_FRAMING = "frame-ancestors 'none'"
PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        _FRAMING,
    ]
)
NOTHING_POLICY = f"default-src 'none'; {_FRAMING}"
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        _FRAMING,
    ]
)

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeaders:
    """Pure ASGI middleware (no response buffering): adds the headers as the response starts."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", self._policy(scope, headers))
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _policy(self, scope: Scope, headers: MutableHeaders) -> str:
        if scope["path"] in self.docs_paths:
            return DOCS_POLICY
        if headers.get("content-type", "").startswith("text/html"):
            return PAGE_POLICY
        return NOTHING_POLICY


def install(app: FastAPI, docs_paths: frozenset[str]) -> None:
    app.add_middleware(SecurityHeaders, docs_paths=docs_paths)
