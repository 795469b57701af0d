"""The footer check job: fetch a live site's home page and record whether it shows its number.

The page's linked stylesheets are fetched too, and those they or its ``<style>`` blocks
``@import`` (at most ``MAX_STYLESHEETS`` in all), as a site's own CSS is usually there and
may hide the number. Each fetch is bounded three ways (a timeout per
connect and read, a limited number of redirects, a cap on the bytes read) so a slow, looping
or huge site costs one failed check, never a stuck worker; the stylesheets share one timeout
between them, so ten on an unreachable CDN cost one timeout, not ten. A stylesheet that
cannot be had costs nothing, as a browser draws the page without it. It runs outside any
transaction; the result is written afterwards. A redelivered job whose check was recorded
already does nothing.

The page names its stylesheets' URLs, so it could point the worker at the network it runs
in (a cloud's metadata service at 169.254.169.254 or 100.100.100.200, a service on
127.0.0.1) and read back in the result what it answered: a stylesheet, or a redirect on its
way, whose host is or resolves to an address not on the public internet is not fetched, nor
is one whose connection reaches such an address however its name resolved then,
unless ``footer_check_allow_private_addresses`` allows it. The page itself is the filed
domain's, fetched as it is.
"""

from __future__ import annotations

import codecs
import ipaddress
import logging
import math
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import httpcore
import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.settings import Settings
from workers.pool_transport import PoolTransport
from workflow import obligations
from workflow.domain.footer import HomePage, Stylesheet
from workflow.domain.rules import rules_for

log = logging.getLogger(__name__)

# The stylesheets fetched for one page, linked or imported, the first in cascade order as
# they come to be known: a site's own CSS is a few files.
MAX_STYLESHEETS = 10

USER_AGENT = "icpflow footer check"

# What a check's job may take beyond its fetches: parsing and matching the page's rules (a
# few seconds at most, ``workflow.domain.footer.cascade.MATCHING_STEPS``) and writing the
# result.
TIME_LIMIT_MARGIN_SECONDS = 30

# The HTML standard's prescan, simplified: a <meta charset=...> or an http-equiv Content-Type
# naming a charset, in the page's first 1024 bytes.
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# A stylesheet's own label (CSS Syntax, "determine the fallback encoding"): these very bytes at
# its very start.
_CSS_CHARSET = re.compile(rb'@charset "([^"]*)";')


def _codec(label: str | None) -> str | None:
    """Python's codec for a charset label; ``None`` for none, an unknown one or a codec that
    is not a text encoding. GB2312 and
    GBK get GB18030, their superset, as browsers do (WHATWG Encoding): pages labelled GB2312
    use characters only GBK has, which read as GB2312 can swallow the character after them."""
    try:
        info = codecs.lookup(label.strip()) if label else None
    except LookupError:
        return None
    if info is None or not info._is_text_encoding:  # base64, hex, rot13: not a page's charset
        return None
    return "gb18030" if info.name in ("gb2312", "gbk") else info.name


def _bom(body: bytes) -> str | None:
    return next((name for bom, name in _BOMS if body.startswith(bom)), None)


def _encoding(body: bytes, header_charset: str | None) -> str:
    """The encoding a browser would read the page in (a byte-order mark, the HTTP header's
    charset, a <meta> tag's, as WHATWG's sniffing orders them). httpx alone would read a page
    whose Content-Type names no charset as UTF-8, yet many Chinese sites serve GBK and say so
    only in a <meta> tag; a page saying nothing is UTF-8 if it decodes, else GB18030, the
    likeliest legacy encoding for a Chinese page."""
    codec = _bom(body) or _codec(header_charset)
    if codec is None and (meta := _META_CHARSET.search(body[:1024])):
        codec = _codec(meta[1].decode("ascii"))
    if codec is None:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return "gb18030"
        return "utf-8"
    return codec


def _css_encoding(body: bytes, header_charset: str | None, environment: str) -> str:
    """The encoding a browser reads a stylesheet in (CSS Syntax, "decode" and "determine the
    fallback encoding"): a byte-order mark, the HTTP header's charset, its ``@charset`` rule
    (one naming UTF-16 is read as UTF-8, as the rule itself was read in ASCII), else the
    ``environment`` encoding: the importing stylesheet's for an ``@import`` (CSS Cascade),
    the page's for a ``<link>`` or a ``<style>`` block's ``@import``, as a site in GBK writes
    its CSS in GBK too, often saying so only in the first file."""
    codec = _bom(body) or _codec(header_charset)
    if codec is None and (rule := _CSS_CHARSET.match(body)):
        codec = _codec(rule[1].decode("ascii", errors="replace"))
        if codec is not None and codec.startswith("utf-16"):
            codec = "utf-8"
    return codec or environment


def time_limit_seconds(settings: Settings) -> float:
    """How long a footer check's job may run before the worker stops it, so that a site
    slower than its timeouts allow (a body trickled a byte a read) holds a worker thread,
    shared with notification deliveries, for a bounded time: the page's first request and
    each redirect a connect and a read, each within the timeout; the stylesheets their
    shared timeout, and once more for the last fetch started within it; and a margin."""
    timeout = settings.footer_check_timeout_seconds
    page = (settings.footer_check_max_redirects + 1) * 2 * timeout
    return page + 2 * timeout + TIME_LIMIT_MARGIN_SECONDS


class _OutOfTime(Exception):
    """The stylesheets' shared time ran out while one was being read."""


def _body(response: httpx.Response, limit: int, deadline: float = math.inf) -> bytes | None:
    """The body of ``response``, ``None`` once it is past ``limit`` bytes (the rest unread);
    ``_OutOfTime`` once ``time.monotonic()`` is past ``deadline``."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            return None
        if time.monotonic() > deadline:
            raise _OutOfTime
    return bytes(body)


class _Refused(Exception):
    """A stylesheet's URL, or a redirect's, names a host not on the public internet."""


def _check_public(url: httpx.URL, settings: Settings) -> None:
    """``_Refused`` when ``url``'s host is, or resolves to, an address not on the public
    internet (loopback, private, link-local, shared, reserved, unspecified, multicast), or
    to none at all. Every address it resolves to counts, as the connection may take any."""
    if settings.footer_check_allow_private_addresses:
        return
    host = url.raw_host.decode("ascii")
    try:
        found = socket.getaddrinfo(host, url.port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise _Refused(f"its host {host} resolves to no address ({exc})") from exc
    for *_, sockaddr in found:
        if _not_public(str(sockaddr[0])):
            raise _Refused(f"its host {host} is at {sockaddr[0]}, not a public address")


def _not_public(address: str) -> bool:
    """Whether an IP address is not on the public internet (loopback, private, link-local,
    shared, reserved, unspecified, multicast); an IPv4 address written as IPv6
    (``::ffff:127.0.0.1``) is judged as itself, and what is no address counts as not public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # a link-local address's zone
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_multicast or not ip.is_global


class _PublicPeersOnly(httpcore.NetworkBackend):
    """httpcore's own connections, each refused (``_Refused``, before a byte is sent on it)
    when its peer, the address the connection reached, is not public. ``_check_public``
    resolves a host before it is asked, and the connection resolves it again: a name whose
    answer changes in between (DNS rebinding: a public address, then 127.0.0.1) would pass
    the first and connect to the second. The peer is what the connection reached, however
    the name resolved; the connection is still made to the name, so TLS sends and verifies
    the host's name as before."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        peer = str(stream.get_extra_info("server_addr")[0])
        if _not_public(peer):
            stream.close()
            raise _Refused(f"its host {host} connected to {peer}, not a public address")
        return stream

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _public_peers_transport() -> PoolTransport:
    """A transport whose connections are made by ``_PublicPeersOnly``, its pool built as
    ``httpx.HTTPTransport`` builds its own without a proxy: TLS verified as httpx verifies it
    by default, the other settings left at httpcore's defaults (the stylesheets are fetched
    one at a time)."""
    pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=_PublicPeersOnly()
    )
    return PoolTransport(pool)


def _stylesheet_client(settings: Settings) -> httpx.Client:
    """The client the stylesheets are fetched with: its own, never the page's, whose kept
    connection to the page's host would be reused unchecked; unless
    ``footer_check_allow_private_addresses``, each connection it makes is checked where it
    leads (``_PublicPeersOnly``), and no proxy is used (through one, where a connection
    leads is the proxy's to know), whatever the environment says."""
    allowed = settings.footer_check_allow_private_addresses
    return httpx.Client(
        transport=None if allowed else _public_peers_transport(),
        timeout=settings.footer_check_timeout_seconds,
        headers={"User-Agent": USER_AGENT},
    )


class _Read(NamedTuple):
    """A stylesheet fetched, and the encoding it was read in: that of those it imports
    naming none."""

    sheet: Stylesheet
    encoding: str


def _read_stylesheet(
    response: httpx.Response, environment: str, limit: int, deadline: float
) -> _Read | None:
    """A stylesheet's final answer, read from where it came from (its URLs resolve against
    that, not against where it was asked for before its redirects); ``None`` for an error
    status or past ``limit`` bytes."""
    url = response.request.url
    if response.status_code >= 400:
        log.info("stylesheet %s not applied: it answered %s", url, response.status_code)
        return None
    body = _body(response, limit, deadline)
    if body is None:
        log.info("stylesheet %s not applied: larger than %s bytes", url, limit)
        return None
    encoding = _css_encoding(body, response.charset_encoding, environment)
    return _Read(Stylesheet(body.decode(encoding, errors="replace"), str(url)), encoding)


def _stylesheet(
    client: httpx.Client, url: str, environment: str, settings: Settings, deadline: float
) -> _Read | None:
    """The stylesheet at ``url``, read in ``environment`` if it names no encoding of its
    own; ``None`` when it cannot be had (an error, an
    error status, too many redirects, past the byte cap, too slow, a host not public), so
    the page is judged without it. Its redirects are followed here, one by one, so that
    each hop's host is checked before it is asked, and each hop's connect and read wait at
    most until ``deadline``, as it stood when the hop began."""
    try:
        request = client.build_request("GET", url)
        for _hop in range(settings.footer_check_max_redirects + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                raise _OutOfTime
            _check_public(request.url, settings)
            request.extensions["timeout"] = httpx.Timeout(left).as_dict()
            response = client.send(request, stream=True, follow_redirects=False)
            try:
                if response.next_request is None:
                    limit = settings.footer_check_max_bytes
                    return _read_stylesheet(response, environment, limit, deadline)
                request = response.next_request
            finally:
                response.close()
        redirects = settings.footer_check_max_redirects
        log.info("stylesheet %s not applied: more than %s redirects", url, redirects)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        log.info("stylesheet %s not applied: %s: %s", url, type(exc).__name__, exc)
    except _OutOfTime:
        log.info("stylesheet %s not applied: the stylesheets' time ran out fetching it", url)
    except _Refused as exc:
        log.warning("stylesheet %s not fetched: %s", url, exc)
    return None


def _stylesheets(
    client: httpx.Client, page: HomePage, page_encoding: str, settings: Settings
) -> dict[str, Stylesheet]:
    """Each stylesheet ``page`` applies that could be had, by the URL it was asked for: the
    first ``MAX_STYLESHEETS`` it asks for, linked or imported (``HomePage.stylesheets_wanted``,
    asked again after each, as a stylesheet fetched may import others), fetched one after
    another within one ``footer_check_timeout_seconds`` between them: once it has passed,
    the rest are not fetched, each left out as one that failed. One naming no encoding is
    read in its importer's, or the page's when the page asks for it."""
    deadline = time.monotonic() + settings.footer_check_timeout_seconds
    fetched: dict[str, Stylesheet] = {}
    encodings: dict[str, str] = {}
    tried: set[str] = set()
    while len(tried) < MAX_STYLESHEETS:
        wanted = next((w for w in page.stylesheets_wanted(fetched) if w.url not in tried), None)
        if wanted is None:
            break
        url, importer = wanted
        tried.add(url)
        if time.monotonic() >= deadline:
            log.info("stylesheet %s not applied: the stylesheets' time ran out before it", url)
            continue
        environment = page_encoding if importer is None else encodings[importer]
        read = _stylesheet(client, url, environment, settings, deadline)
        if read is not None:
            fetched[url], encodings[url] = read
    return fetched


@dataclass(frozen=True)
class Fetched:
    status_code: int | None
    problems: list[str]


def fetch_and_judge(url: str, record_number: str, settings: Settings) -> Fetched:
    """The page at ``url`` judged as the home page of ``record_number``, with the stylesheets
    it links or imports, resolved against where its redirects ended."""
    limit = settings.footer_check_max_bytes
    try:
        with httpx.Client(
            timeout=settings.footer_check_timeout_seconds,
            follow_redirects=True,
            max_redirects=settings.footer_check_max_redirects,
            headers={"User-Agent": USER_AGENT},
        ) as client:
            with client.stream("GET", url) as response:
                status = response.status_code
                if status >= 400:
                    return Fetched(status, [f"the page answered {status}"])
                body = _body(response, limit)
                if body is None:
                    return Fetched(status, [f"the page is larger than {limit} bytes"])
                encoding = _encoding(body, response.charset_encoding)
                html, final_url = body.decode(encoding, errors="replace"), str(response.url)
            page = HomePage(html, final_url)
        with _stylesheet_client(settings) as client:
            fetched = _stylesheets(client, page, encoding, settings)
    except httpx.TooManyRedirects:
        return Fetched(None, [f"more than {settings.footer_check_max_redirects} redirects"])
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Fetched(None, [f"the page could not be fetched: {type(exc).__name__}: {exc}"])
    canonical = rules_for(settings).canonical_province
    return Fetched(status, page.footer_problems(record_number, canonical, fetched))


def check_footer(
    engine: Engine, service_id: int, obligation_id: int | None, settings: Settings
) -> bool:
    """Check one service's footer and record the result; False when there was nothing to do
    (the service is no longer live and filed here, or this check was recorded already)."""
    with Session(engine) as session:
        target = obligations.footer_target(session, service_id)
        if target is None or obligations.checked(session, obligation_id):
            return False
    url, record_number = target
    fetched = fetch_and_judge(url, record_number, settings)
    try:
        with Session(engine) as session:
            obligations.record_footer(
                session,
                service_id,
                obligation_id,
                url=url,
                status_code=fetched.status_code,
                problems=fetched.problems,
                settings=settings,
            )
            session.commit()
    except IntegrityError:  # another worker recorded this scheduled check meanwhile
        log.info("footer check %s was recorded by another worker", obligation_id)
        return False
    return True
