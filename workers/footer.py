"""The footer check job: fetch a live site's home page and record whether it shows its number.

The fetch is bounded three ways (a timeout per connect and read, a limited number of
redirects, a cap on the bytes read) so a slow, looping or huge site costs one failed check,
never a stuck worker. It runs outside any transaction; the result is written afterwards.
A redelivered job whose check was recorded already does nothing.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from config.settings import Settings
from workflow import obligations
from workflow.domain.footer import footer_problems
from workflow.domain.rules import rules_for

log = logging.getLogger(__name__)


# The HTML standard's prescan, simplified: a <meta charset=...> or an http-equiv Content-Type
# naming a charset, in the page's first 1024 bytes.
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


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


def _decoded(body: bytes, header_charset: str | None) -> str:
    """The page's text in the encoding a browser would pick (a byte-order mark, the HTTP
    header's charset, a <meta> tag's, as WHATWG's sniffing orders them). httpx alone would read a page
    whose Content-Type names no charset as UTF-8, yet many Chinese sites serve GBK and say so
    only in a <meta> tag; a page saying nothing is UTF-8 if it decodes, else GB18030, the
    likeliest legacy encoding for a Chinese page."""
    codec = next((name for bom, name in _BOMS if body.startswith(bom)), None)
    if codec is None:
        codec = _codec(header_charset)
    if codec is None and (meta := _META_CHARSET.search(body[:1024])):
        codec = _codec(meta[1].decode("ascii"))
    if codec is None:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            codec = "gb18030"
    return body.decode(codec, errors="replace")


@dataclass(frozen=True)
class Fetched:
    status_code: int | None
    problems: list[str]


def fetch_and_judge(url: str, record_number: str, settings: Settings) -> Fetched:
    """The page at ``url`` judged as the home page of ``record_number``."""
    try:
        with (
            httpx.Client(
                timeout=settings.footer_check_timeout_seconds,
                follow_redirects=True,
                max_redirects=settings.footer_check_max_redirects,
                headers={"User-Agent": "icpflow footer check"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                return Fetched(response.status_code, [f"the page answered {response.status_code}"])
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > settings.footer_check_max_bytes:
                    limit = settings.footer_check_max_bytes
                    return Fetched(response.status_code, [f"the page is larger than {limit} bytes"])
            text = _decoded(bytes(body), response.charset_encoding)
            canonical = rules_for(settings).canonical_province
            return Fetched(response.status_code, footer_problems(text, record_number, canonical))
    except httpx.TooManyRedirects:
        limit = settings.footer_check_max_redirects
        return Fetched(None, [f"more than {limit} redirects"])
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Fetched(None, [f"the page could not be fetched: {type(exc).__name__}: {exc}"])


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
