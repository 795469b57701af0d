"""An httpx transport around an httpcore connection pool the caller builds.

``httpx.HTTPTransport`` builds its own pool and takes no network backend, so a pool whose
connections are made by a backend of one's own (one checking where each connection leads)
can only be put under httpx this way: through httpx's and httpcore's public interfaces, as
``httpx.HTTPTransport`` itself does, never by replacing its private ``_pool``, which a
future httpx could rename with nothing failing but the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

# httpcore's exceptions as httpx raises them (httpx's own mapping is private), so that a
# caller catching ``httpx.HTTPError``, or one kind of it, sees what an ``httpx.HTTPTransport``
# would raise. httpcore's ``ConnectionNotAvailable`` never leaves its pool.
_EXCEPTIONS: dict[type[Exception], type[httpx.HTTPError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpcore's exceptions raised as httpx's, the most specific that fits (a
    ``ConnectTimeout`` as one, not as a ``TimeoutException``), the message kept; any other
    exception (the network backend's own) as it is."""
    try:
        yield
    except Exception as exc:
        mapped = next((_EXCEPTIONS[t] for t in type(exc).__mro__ if t in _EXCEPTIONS), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


class _Body(httpx.SyncByteStream):
    """A response's body as httpcore reads it, its errors raised as httpx's, as a body is
    read after the transport has returned."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PoolTransport(httpx.BaseTransport):
    """Requests sent through ``pool``, as ``httpx.HTTPTransport`` sends them through the one
    it builds: the request's timeouts go with it (httpx puts them in its extensions), and
    closing the transport, as its client does, closes the pool."""

    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self._connections = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        sent = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            answer = self._connections.handle_request(sent)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._connections.close()
