"""The footer check against real HTTP servers on 127.0.0.1: good, missing and wrong footers, a
redirect, pages in the legacy encodings Chinese sites serve, the stylesheets a page links (the
fixture `settings` lets them come from 127.0.0.1; `strict` does not, as deployed), and
the second failure in a row told to the case managers."""

from __future__ import annotations

import codecs
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text
from sqlmodel import Session, select

from config.clock import FrozenClock
from config.settings import Settings, get_settings
from models import Job, Notification, OutboxMessage, Service
from tests.databases import Database
from tests.delivery_kit import failed_jobs, footer_checks, site_live_at, wait_for, worker_on
from workers import footer
from workers.actors import FOOTER_CHECK_RETRIES, declare_actors
from workers.broker import QUEUE, middleware
from workers.footer import check_footer, fetch_and_judge
from workers.relay import relay_pending
from workflow.failures import retry_failed
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_obligations

NUMBER = "京ICP备2026000123号-1"
MIIT = '<a href="https://beian.miit.gov.cn/" target="_blank">{}</a>'
PAGES = {
    "/good": f"<html><body><main>Hello</main><footer>{MIIT.format(NUMBER)}</footer></body></html>",
    "/missing": "<html><body><main>Hello</main><footer>© Example</footer></body></html>",
    "/wrong": f"<html><body><footer>{MIIT.format('京ICP备2026999999号-1')}</footer></body></html>",
    "/unlinked": f"<html><body><footer>{NUMBER}</footer></body></html>",
    "/transparent": f'<html><body><footer style="opacity: 0">{MIIT.format(NUMBER)}</footer>',
    "/hidden-by-class": (
        "<html><head><style>.icp { display: none }</style></head>"
        f'<body><footer class="icp">{MIIT.format(NUMBER)}</footer></body></html>'
    ),
}
# path -> Location ({port}: the site's).
REDIRECTS = {
    "/moved": "/good",
    "/loop": "/loop",
    "/old/": "/new/",
    "/css/to-localhost.css": "http://localhost:{port}/css/hide.css",
    "/css/to-other-address.css": "http://127.0.0.2:{port}/css/hide.css",
    "/css/moved/site.css": "/css/v2/site.css",
}
FOOTER = f"<footer>{MIIT.format(NUMBER)}</footer>"


def _linking(href: str, attributes: str = "") -> str:
    """A page with the footer, linking the stylesheet at ``href``."""
    link = f'<link rel="stylesheet" href="{href}"{attributes}>'
    return f"<html><head>{link}</head><body>{FOOTER}</body></html>"


HIDE = b"footer { display: none }"
# Stylesheets served: path -> (status, Content-Type, body).
SHEETS = {
    "/css/hide.css": (200, "text/css", HIDE),
    "/css/show.css": (200, "text/css", b"footer { display: block; color: #333 }"),
    "/css/gone.css": (404, "text/css", HIDE),
    "/css/huge.css": (200, "text/css", HIDE + b" " * 2048),
    "/css/slow.css": (200, "text/css", HIDE),
    "/new/site.css": (200, "text/css", HIDE),
    "/css/gbk.css": (200, "text/css", ".备案 { display: none }".encode("gbk")),
    "/css/charset.css": (200, "text/css", '@charset "gbk"; .备案 { display: none }'.encode("gbk")),
}
# Ten stylesheets hiding nothing, then one hiding the footer: past the ten fetched.
PLAIN = [f"/css/plain{i}.css" for i in range(10)]
SHEETS |= {path: (200, "text/css", b"footer { color: #333 }") for path in PLAIN}
SLOW = "/css/slow.css"
# Stylesheets each answering after STALL_SECONDS, longer than what is left of a short timeout.
STALLING = [f"/css/stall{i}.css" for i in range(5)]
SHEETS |= {path: (200, "text/css", b"footer { color: #333 }") for path in STALLING}
STALL_SECONDS = 0.3
PAGES |= {
    "/linked/hide": _linking("/css/hide.css"),
    "/linked/show": _linking("/css/show.css"),
    "/linked/gone": _linking("/css/gone.css"),
    "/linked/huge": _linking("/css/huge.css"),
    "/linked/slow": _linking(SLOW),
    "/linked/print": _linking("/css/hide.css", ' media="print"'),
    "/linked/to-localhost": _linking("/css/to-localhost.css"),
    "/linked/to-other-address": _linking("/css/to-other-address.css"),
    "/new/": _linking("site.css"),
    "/linked/stalling": "".join(f'<link rel="stylesheet" href="{path}">' for path in STALLING)
    + f"<body>{FOOTER}</body>",
    "/linked/many": "".join(f'<link rel="stylesheet" href="{path}">' for path in PLAIN)
    + _linking("/css/hide.css"),
    "/linked/charset": (
        '<link rel="stylesheet" href="/css/charset.css">'
        f'<footer class="备案">{MIIT.format(NUMBER)}</footer>'
    ),
}


def _importing(*urls: str) -> str:
    """A page with the footer, whose ``<style>`` block imports ``urls``."""
    imports = "".join(f'@import url("{url}");' for url in urls)
    return f"<html><head><style>{imports}</style></head><body>{FOOTER}</body></html>"


SHEETS |= {
    "/css/imports-hide.css": (200, "text/css", b'@import "hide.css"; footer { color: #333 }'),
    "/css/cycle-a.css": (200, "text/css", b'@import "cycle-b.css"; footer { color: #333 }'),
    "/css/cycle-b.css": (200, "text/css", b'@import "cycle-a.css"; ' + HIDE),
    # Reached from /css/moved/site.css: its import is /css/v2/parts.css, not /css/moved/'s.
    "/css/v2/site.css": (200, "text/css", b'@import "parts.css"; footer { color: #333 }'),
    "/css/v2/parts.css": (200, "text/css", HIDE),
    # GBK saying so in its @charset, importing /css/gbk.css, GBK saying nothing.
    "/css/gbk-imports.css": (
        200,
        "text/css",
        '@charset "GBK"; @import "gbk.css"; .页脚 { color: #333 }'.encode("gbk"),
    ),
}
PAGES |= {
    "/imports/hide": _importing("/css/hide.css"),
    "/imports/linked": _linking("/css/imports-hide.css"),
    "/imports/cycle": _linking("/css/cycle-a.css"),
    "/imports/many": _importing(*PLAIN, "/css/hide.css"),
    "/imports/stalling": _importing(*STALLING),
    "/imports/to-other-address": _importing("/css/to-other-address.css"),
    "/imports/redirected": _linking("/css/moved/site.css"),
    # In UTF-8: the stylesheet /css/gbk-imports.css imports is GBK, as it is, not as the page.
    "/imports/gbk": (
        '<link rel="stylesheet" href="/css/gbk-imports.css">'
        f'<footer class="备案">{MIIT.format(NUMBER)}</footer>'
    ),
}
META_GBK = '<meta charset="gbk">'
HTTP_EQUIV_GB2312 = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
# Pages served as bytes: path -> (Content-Type, body).
ENCODED = {
    "/gbk-meta": ("text/html", f"<head>{META_GBK}</head>{FOOTER}".encode("gbk")),
    "/gb2312-http-equiv": ("text/html", f"<head>{HTTP_EQUIV_GB2312}</head>{FOOTER}".encode("gbk")),
    "/gbk-header": (
        "text/html; charset=gbk",
        f'<head><meta charset="utf-8"></head>{FOOTER}'.encode("gbk"),
    ),
    "/bom": ("text/html", codecs.BOM_UTF8 + f"<head>{META_GBK}</head>{FOOTER}".encode()),
    "/gbk-unlabelled": ("text/html", FOOTER.encode("gbk")),
    # Codecs that are not text encodings: read as such, decoding would raise, not judge.
    "/base64-meta": ("text/html", f'<head><meta charset="base64"></head>{FOOTER}'.encode()),
    "/hex-header": ("text/html; charset=hex", FOOTER.encode()),
    # A stylesheet naming no charset is read in the page's.
    "/linked/gbk": (
        "text/html",
        f'<head>{META_GBK}<link rel="stylesheet" href="/css/gbk.css"></head>'
        f'<footer class="备案">{MIIT.format(NUMBER)}</footer>'.encode("gbk"),
    ),
    # 喆 is in GBK, not GB2312: read as GB2312 it swallows the 京 after it.
    "/gbk-labelled-gb2312": (
        "text/html; charset=gb2312",
        f"<footer>{MIIT.format('王喆' + NUMBER)}</footer>".encode("gbk"),
    ),
}


# The paths the site was asked for, in order, since the test began.
REQUESTED: list[str] = []


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        REQUESTED.append(self.path)
        if self.path in REDIRECTS:
            self.send_response(301)
            port = self.server.server_port  # type: ignore[attr-defined]  # an HTTPServer
            self.send_header("Location", REDIRECTS[self.path].format(port=port))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == SLOW:
            time.sleep(1)
        if self.path in STALLING:
            time.sleep(STALL_SECONDS)
        if self.path in SHEETS:
            status, content_type, body = SHEETS[self.path]
        elif self.path in ENCODED:
            status, (content_type, body) = 200, ENCODED[self.path]
        else:
            page = PAGES.get(self.path)
            status, content_type = (200 if page else 404), "text/html; charset=utf-8"
            body = (page or "not found").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep pytest output free of access logs."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' settings, allowed to fetch stylesheets from the site on 127.0.0.1."""
    return settings.model_copy(update={"footer_check_allow_private_addresses": True})


@pytest.fixture
def strict(settings: Settings) -> Settings:
    """The settings as deployed: no stylesheet fetched from an address not public."""
    return settings.model_copy(update={"footer_check_allow_private_addresses": False})


@pytest.fixture
def site() -> Iterator[str]:
    """A web site on 127.0.0.1 serving ``PAGES`` and ``REDIRECTS``, noting in ``REQUESTED``
    what it was asked for; yields its base URL."""
    REQUESTED.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def other_address(site: str) -> Iterator[str]:
    """The same site on another loopback address, 127.0.0.2, at the same port, noting in
    ``REQUESTED`` too what it was asked for: somewhere a redirect leads that is not where
    the page is."""
    port = int(site.rsplit(":", 1)[1])
    server = ThreadingHTTPServer(("127.0.0.2", port), _Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("path", "problems"),
    [
        ("/good", []),
        ("/moved", []),
        ("/missing", [f"the record number {NUMBER} is not shown", "no link to"]),
        ("/wrong", [f"the record number {NUMBER} is not shown", "the link to"]),
        ("/unlinked", ["no link to"]),
        (
            "/transparent",
            [
                f"the record number {NUMBER} is not shown: hidden by <footer style",
                "the link to https://beian.miit.gov.cn is not shown: hidden by <footer style",
            ],
        ),
        (
            "/hidden-by-class",
            [
                f"the record number {NUMBER} is not shown: hidden by .icp {{ display: none }}",
                "the link to https://beian.miit.gov.cn is not shown: hidden by .icp",
            ],
        ),
        ("/gone", ["the page answered 404"]),
        ("/loop", ["more than 5 redirects"]),
    ],
)
def test_a_footer_check_records_what_the_home_page_shows(
    db: Database,
    session: Session,
    on_file: FilingOut,
    site: str,
    settings: Settings,
    path: str,
    problems: list[str],
) -> None:
    service_id = site_live_at(session, on_file, site + path, settings)
    assert check_footer(db.engine, service_id, None, settings)
    [check] = footer_checks(db.engine)
    assert check.ok is (not problems)
    assert len(check.problems) == len(problems)
    assert all(p.startswith(e) for p, e in zip(check.problems, problems, strict=True))


def test_a_gbk_page_naming_its_charset_only_in_a_meta_tag_is_read_as_gbk(
    site: str, settings: Settings
) -> None:
    assert fetch_and_judge(site + "/gbk-meta", NUMBER, settings).problems == []


def test_a_meta_http_equiv_content_type_names_the_charset_too(
    site: str, settings: Settings
) -> None:
    assert fetch_and_judge(site + "/gb2312-http-equiv", NUMBER, settings).problems == []


def test_the_charset_in_the_http_header_wins_over_the_meta_tag(
    site: str, settings: Settings
) -> None:
    assert fetch_and_judge(site + "/gbk-header", NUMBER, settings).problems == []


def test_a_byte_order_mark_wins_over_the_meta_tag(site: str, settings: Settings) -> None:
    assert fetch_and_judge(site + "/bom", NUMBER, settings).problems == []


def test_a_page_naming_no_charset_and_not_utf8_is_read_as_gb18030(
    site: str, settings: Settings
) -> None:
    assert fetch_and_judge(site + "/gbk-unlabelled", NUMBER, settings).problems == []


def test_a_page_labelled_gb2312_is_read_as_gb18030_as_browsers_do(
    site: str, settings: Settings
) -> None:
    assert fetch_and_judge(site + "/gbk-labelled-gb2312", NUMBER, settings).problems == []


@pytest.mark.parametrize("path", ["/base64-meta", "/hex-header"])
def test_a_charset_that_is_no_text_encoding_is_ignored(
    site: str, settings: Settings, path: str
) -> None:
    assert fetch_and_judge(site + path, NUMBER, settings).problems == []


def test_a_number_a_linked_stylesheet_hides_fails_naming_the_rule_and_the_stylesheet(
    site: str, settings: Settings
) -> None:
    hidden_by = f"footer {{ display: none }} in {site}/css/hide.css on <footer>"
    assert fetch_and_judge(site + "/linked/hide", NUMBER, settings).problems == [
        f"the record number {NUMBER} is not shown: hidden by {hidden_by}",
        f"the link to https://beian.miit.gov.cn is not shown: hidden by {hidden_by}",
    ]


def test_a_linked_stylesheet_that_hides_nothing_passes(site: str, settings: Settings) -> None:
    assert fetch_and_judge(site + "/linked/show", NUMBER, settings).problems == []


def test_a_linked_stylesheet_answering_an_error_is_not_applied(
    site: str, settings: Settings
) -> None:
    assert fetch_and_judge(site + "/linked/gone", NUMBER, settings).problems == []


def test_a_linked_stylesheet_larger_than_the_cap_is_not_applied(
    site: str, settings: Settings
) -> None:
    small = settings.model_copy(update={"footer_check_max_bytes": 1024})
    assert fetch_and_judge(site + "/linked/huge", NUMBER, small).problems == []


def test_a_linked_stylesheet_slower_than_the_timeout_is_not_applied(
    site: str, settings: Settings
) -> None:
    hasty = settings.model_copy(update={"footer_check_timeout_seconds": 0.3})
    assert fetch_and_judge(site + "/linked/slow", NUMBER, hasty).problems == []


def test_the_stylesheets_share_one_timeout_however_many_are_slow(
    site: str, settings: Settings
) -> None:
    """The first is had in 0.3 s of the 0.5 s; the second gets the 0.2 s left and runs out;
    the other three are not asked for. Fetched one after another, each with the whole
    timeout, the five took 1.5 s."""
    hasty = settings.model_copy(update={"footer_check_timeout_seconds": 0.5})
    start = time.monotonic()
    assert fetch_and_judge(site + "/linked/stalling", NUMBER, hasty).problems == []
    assert time.monotonic() - start < 1.0
    assert [path for path in REQUESTED if path in STALLING] == STALLING[:2]


def test_the_footer_actor_is_stopped_past_its_fetches_budget(
    db: Database, settings: Settings
) -> None:
    """With the default 10 s timeout and 5 redirects: the page's six requests, a connect and
    a read each (120 s), the stylesheets' shared 10 s and once more (20 s), a 30 s margin."""
    broker = StubBroker(middleware=middleware())
    actor = declare_actors(broker, settings, db.engine)[Job.CHECK_FOOTER]
    assert actor.options["time_limit"] == 170_000


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_stylesheet_on_an_address_not_public_is_not_fetched(
    site: str, strict: Settings, host: str
) -> None:
    """Named by its address, or by a name resolving to it: the site is not asked for it,
    and the page is judged without it, as without one that failed."""
    page = site.replace("127.0.0.1", host) + "/linked/hide"
    assert fetch_and_judge(page, NUMBER, strict).problems == []
    assert REQUESTED == ["/linked/hide"]


def _site_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The address check as deployed, but for the site's own address, 127.0.0.1, which
    stands for a public one: 127.0.0.2, the other address, is refused."""
    not_public = footer._not_public
    monkeypatch.setattr(
        footer, "_not_public", lambda address: address != "127.0.0.1" and not_public(address)
    )


def test_a_stylesheet_redirected_to_an_address_not_public_is_not_fetched_there(
    site: str, other_address: str, strict: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _site_as_public(monkeypatch)
    assert fetch_and_judge(site + "/linked/to-other-address", NUMBER, strict).problems == []
    assert REQUESTED == ["/linked/to-other-address", "/css/to-other-address.css"]


def test_a_connection_reaching_an_address_not_public_is_refused_whatever_the_name_said(
    site: str, strict: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the host's name answered a public address when it was checked, and
    the connection, resolving it again, reached 127.0.0.1. The check of the name passing,
    as it would, the connection is refused where it leads, before it asks for anything."""
    monkeypatch.setattr(footer, "_check_public", lambda url, settings: None)
    assert fetch_and_judge(site + "/linked/hide", NUMBER, strict).problems == []
    assert REQUESTED == ["/linked/hide"]


def test_a_stylesheet_slower_than_the_timeout_through_the_address_check_is_not_applied(
    site: str, strict: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its connection's errors are httpx's, as the check catches them, not httpcore's, which
    would fail the whole check."""
    _site_as_public(monkeypatch)
    hasty = strict.model_copy(update={"footer_check_timeout_seconds": 0.3})
    assert fetch_and_judge(site + "/linked/slow", NUMBER, hasty).problems == []
    assert REQUESTED == ["/linked/slow", SLOW]


def test_an_imported_stylesheet_is_fetched_through_the_same_address_check(
    site: str, other_address: str, strict: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _site_as_public(monkeypatch)
    assert fetch_and_judge(site + "/imports/to-other-address", NUMBER, strict).problems == []
    assert REQUESTED == ["/imports/to-other-address", "/css/to-other-address.css"]


def test_a_stylesheet_s_redirects_are_followed(site: str, settings: Settings) -> None:
    """The result names the stylesheet as the page links it."""
    problems = fetch_and_judge(site + "/linked/to-localhost", NUMBER, settings).problems
    assert problems[0].endswith(f"in {site}/css/to-localhost.css on <footer>")
    assert REQUESTED == ["/linked/to-localhost", "/css/to-localhost.css", "/css/hide.css"]


def test_the_stylesheets_linked_past_the_first_ten_are_not_fetched(
    site: str, settings: Settings
) -> None:
    problems = fetch_and_judge(site + "/linked/many", NUMBER, settings).problems
    assert problems == []


def test_a_stylesheet_linked_for_print_is_not_applied(site: str, settings: Settings) -> None:
    assert fetch_and_judge(site + "/linked/print", NUMBER, settings).problems == []


def test_a_relative_stylesheet_resolves_against_the_page_its_redirects_reach(
    site: str, settings: Settings
) -> None:
    problems = fetch_and_judge(site + "/old/", NUMBER, settings).problems
    assert problems[0] == (
        f"the record number {NUMBER} is not shown: "
        f"hidden by footer {{ display: none }} in {site}/new/site.css on <footer>"
    )


@pytest.mark.parametrize(
    ("path", "sheet"),
    [
        pytest.param("/linked/gbk", "/css/gbk.css", id="in the page's encoding"),
        pytest.param("/linked/charset", "/css/charset.css", id="in its @charset"),
    ],
)
def test_a_linked_stylesheet_naming_no_charset_in_its_header_is_read_as_a_browser_reads_it(
    site: str, settings: Settings, path: str, sheet: str
) -> None:
    problems = fetch_and_judge(site + path, NUMBER, settings).problems
    assert problems[0] == (
        f"the record number {NUMBER} is not shown: "
        f"hidden by .备案 {{ display: none }} in {site}{sheet} on <footer>"
    )


def test_a_number_a_style_block_s_import_hides_fails_naming_the_stylesheet(
    site: str, settings: Settings
) -> None:
    problems = fetch_and_judge(site + "/imports/hide", NUMBER, settings).problems
    assert problems[0] == (
        f"the record number {NUMBER} is not shown: "
        f"hidden by footer {{ display: none }} in {site}/css/hide.css on <footer>"
    )


def test_a_stylesheet_a_linked_stylesheet_imports_is_fetched_and_applied(
    site: str, settings: Settings
) -> None:
    problems = fetch_and_judge(site + "/imports/linked", NUMBER, settings).problems
    assert problems[0].endswith(f"in {site}/css/hide.css on <footer>")
    assert REQUESTED == ["/imports/linked", "/css/imports-hide.css", "/css/hide.css"]


def test_a_redirected_stylesheet_s_imports_resolve_against_where_its_redirects_ended(
    site: str, settings: Settings
) -> None:
    """As a browser resolves them: a URL in a stylesheet is relative to the URL its answer
    came from."""
    problems = fetch_and_judge(site + "/imports/redirected", NUMBER, settings).problems
    assert problems[0].endswith(f"in {site}/css/v2/parts.css on <footer>")
    assert REQUESTED == [
        "/imports/redirected",
        "/css/moved/site.css",
        "/css/v2/site.css",
        "/css/v2/parts.css",
    ]


def test_an_imported_stylesheet_naming_no_charset_is_read_in_its_importer_s_encoding(
    site: str, settings: Settings
) -> None:
    """Not the page's: CSS Syntax falls back on the referring stylesheet's encoding."""
    problems = fetch_and_judge(site + "/imports/gbk", NUMBER, settings).problems
    assert problems[0] == (
        f"the record number {NUMBER} is not shown: "
        f"hidden by .备案 {{ display: none }} in {site}/css/gbk.css on <footer>"
    )


def test_an_import_cycle_fetches_each_stylesheet_once(site: str, settings: Settings) -> None:
    problems = fetch_and_judge(site + "/imports/cycle", NUMBER, settings).problems
    assert problems[0].endswith(f"in {site}/css/cycle-b.css on <footer>")
    assert REQUESTED == ["/imports/cycle", "/css/cycle-a.css", "/css/cycle-b.css"]


def test_imported_stylesheets_count_in_the_ten_fetched(site: str, settings: Settings) -> None:
    assert fetch_and_judge(site + "/imports/many", NUMBER, settings).problems == []
    assert REQUESTED[1:] == PLAIN


def test_imported_stylesheets_share_the_stylesheets_timeout(site: str, settings: Settings) -> None:
    """As ``test_the_stylesheets_share_one_timeout_however_many_are_slow``, imported."""
    hasty = settings.model_copy(update={"footer_check_timeout_seconds": 0.5})
    assert fetch_and_judge(site + "/imports/stalling", NUMBER, hasty).problems == []
    assert [path for path in REQUESTED if path in STALLING] == STALLING[:2]


def _told(db: Database) -> int:
    with Session(db.engine) as session:
        query = select(Notification).where(Notification.kind == "footer_check_failed")
        return len(session.exec(query).all())


def test_the_second_failure_in_a_row_is_told_once(
    db: Database,
    session: Session,
    on_file: FilingOut,
    site: str,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    service_id = site_live_at(session, on_file, site + "/missing", settings)
    told = []
    for _ in range(3):
        check_footer(db.engine, service_id, None, settings)
        clock.advance(timedelta(hours=1))
        told.append(_told(db))
    assert told == [0, 1, 1]


def test_a_good_check_between_two_failures_keeps_quiet(
    db: Database,
    session: Session,
    on_file: FilingOut,
    site: str,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    service_id = site_live_at(session, on_file, site + "/missing", settings)
    check_footer(db.engine, service_id, None, settings)
    with Session(db.engine) as other:  # the site's page is fixed, then broken again
        row = other.get(Service, service_id)
        assert row is not None
        row.home_url = site + "/good"
        other.add(row)
        other.commit()
        clock.advance(timedelta(hours=1))
        check_footer(db.engine, service_id, None, settings)
        row.home_url = site + "/missing"
        other.add(row)
        other.commit()
    clock.advance(timedelta(hours=1))
    check_footer(db.engine, service_id, None, settings)
    assert [c.ok for c in footer_checks(db.engine)] == [False, True, False]
    assert _told(db) == 0


@pytest.mark.redis
def test_the_scheduler_queues_checks_a_worker_runs_once_each(
    db: Database,
    session: Session,
    on_file: FilingOut,
    site: str,
    clock: FrozenClock,
    redis_broker: dramatiq.Broker,
) -> None:
    settings = get_settings()  # the broker's: its REDIS_URL
    service_id = site_live_at(session, on_file, site + "/good", settings)
    assert fire_due_obligations(db.engine, clock.now(), settings) == 1
    assert fire_due_obligations(db.engine, clock.now(), settings) == 0  # the next is a day away
    with Session(db.engine) as other:
        [row] = other.exec(select(OutboxMessage).where(OutboxMessage.job == Job.CHECK_FOOTER))
        assert row.payload["service_id"] == service_id
    worker = dramatiq.Worker(redis_broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        relay_pending(db.engine, redis_broker)
        redis_broker.join(QUEUE, timeout=20_000)
        worker.join()
        wait_for(lambda: len(footer_checks(db.engine)) == 1, 20, "the footer check")
        # A redelivered job (the same payload again) records nothing more.
        redis_broker.get_actor(Job.CHECK_FOOTER).send(**row.payload)
        redis_broker.join(QUEUE, timeout=20_000)
        worker.join()
    finally:
        worker.stop()
    [check] = footer_checks(db.engine)
    assert check.ok and check.obligation_id == row.payload["obligation_id"]


@pytest.fixture
def footer_worker(db: Database, settings: Settings) -> Iterator[StubBroker]:
    """The actors on a real worker, retrying at once."""
    fast = settings.model_copy(update={"delivery_min_backoff_ms": 1, "delivery_max_backoff_ms": 5})

    def declare(broker: StubBroker) -> object:
        return declare_actors(broker, fast, db.engine)

    with worker_on(declare, fail_fast=False) as broker:
        yield broker


@contextmanager
def _table_gone(db: Database, table: str) -> Iterator[None]:
    """``table`` renamed away meanwhile, as in a database not yet migrated; back afterwards
    whatever happens, since later tests share the database."""
    with db.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))


def test_a_footer_check_whose_run_fails_every_retry_is_kept_for_ops_who_retry_it(
    db: Database,
    session: Session,
    on_file: FilingOut,
    site: str,
    clock: FrozenClock,
    settings: Settings,
    footer_worker: StubBroker,
) -> None:
    """Not the site failing its check (that is a result) but the check itself: here its table
    was gone, as in a database not yet migrated. Once mended, the retry makes that check."""
    site_live_at(session, on_file, site + "/good", settings)
    assert fire_due_obligations(db.engine, clock.now(), settings) == 1
    with Session(db.engine) as other:
        [owed] = other.exec(select(OutboxMessage).where(OutboxMessage.job == Job.CHECK_FOOTER))
    with _table_gone(db, "footer_checks"):
        relay_pending(db.engine, footer_worker)
        footer_worker.join(QUEUE, timeout=20_000)

    [failed] = failed_jobs(db.engine)
    assert (failed.job, failed.notification_id, failed.payload) == (
        Job.CHECK_FOOTER,
        None,
        owed.payload,
    )
    assert "footer_checks" in failed.error
    assert failed.attempts == FOOTER_CHECK_RETRIES + 1
    assert failed.id is not None
    assert retry_failed(session, failed.id).payload == owed.payload
    relay_pending(db.engine, footer_worker)
    footer_worker.join(QUEUE, timeout=20_000)
    [check] = footer_checks(db.engine)
    assert check.ok and check.obligation_id == owed.payload["obligation_id"]
