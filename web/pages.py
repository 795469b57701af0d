"""Signing in to the console, and what every page knows of the person using it.

A browser signs in once with a token (the login form, or a link with ``?token=``) and then
carries a server-side session's id, never the token, in an HttpOnly, SameSite=Strict cookie
(``Secure`` over HTTPS). Every form carries the session's CSRF token in a hidden field and
every POST is checked against it, SameSite or not (older browsers, subdomains).

A form posted after the session ended (it lapsed, or its person signed out elsewhere) is not
lost: the sign-in form comes back carrying what it held (never its stale CSRF token nor any
field named like a secret), and once signed in the person sees it all and sends it with a
click, under the new session's form token; nothing is sent again without them. Only a form
posted from this site's own pages (``Sec-Fetch-Site``/``Origin``) to one of its console forms
is carried: another site's cannot have it put before someone to send. A form of an earlier
session's page (signed in again in another tab), posted from this site's pages, is refused
but shown so too, to send under the current session's token.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, NamedTuple, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.routing import Match

from auth.sessions import close_session, form_token, open_session, resume_session
from auth.throttle import FailedSignIns
from auth.tokens import Caller, Role, authenticate, require_role
from config.settings import get_settings
from models import get_engine
from web import forms
from web.auth import SessionDep, end_read
from web.errors import headers_of, status_of
from web.status_words import said_for
from web.templating import render
from workflow.domain.errors import (
    Forbidden,
    IcpflowError,
    RateLimited,
    Reason,
    Unauthorized,
    ValidationError,
)

SESSION_COOKIE = "icpflow_session"
FORM_TOKEN_FIELD = "form_token"
SEND_TO_FIELD = "send_to"  # the sign-in form's: where the form it carries was posted
SENT_PREFIX = "sent:"  # the sign-in form's names of the fields it carries
UNSENT_FIELD = "not_carried"  # the sign-in form's: the name of each field it could not carry
# Never carried through a sign-in, whatever the form: the stale session's CSRF token, the
# API token, anything named like a secret.
_NEVER_CARRIED = re.compile(r"token|passw|secret|api_?key|private_?key|credential|cookie", re.I)
# Where a carried form may be sent: a path of this site, nothing else (checked against the
# console's routes too).
_CONSOLE_PATH = re.compile(r"/[A-Za-z0-9_.~/-]*")
_PAGE_OF_FORM = re.compile(r"/(?:filings|entities)/[0-9]+(?=/)")

router = APIRouter(include_in_schema=False)

# The form a console form's route was posted from, rebuilt for the person signed in from the
# route's path parameters (``shown_by``); None where the page shows it no longer.
FormShown = Callable[[Session, "PageUser", Mapping[str, str]], forms.Form | None]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


class _Shown(NamedTuple):
    form: FormShown
    own: frozenset[str]  # the hidden fields the page adds to the form itself


_FORMS_SHOWN: dict[Callable[..., Any], _Shown] = {}


def shown_by(form: FormShown, *, own: Collection[str] = ()) -> Callable[[Endpoint], Endpoint]:
    """Declare the ``Form`` a console route's page shows, and the hidden fields the page adds
    to it itself (``own``: the version it was filled in against, the key it opens an order
    under): a form carried to it through a sign-in is then listed by the labels the person
    saw, not by the names it posts, and without the fields they never typed, which mean
    nothing to them (sent all the same, even where the page offers the form no longer)."""

    def declared(endpoint: Endpoint) -> Endpoint:
        _FORMS_SHOWN[endpoint] = _Shown(form, frozenset(own))
        return endpoint

    return declared


class _SignInToSend(Exception):
    """Raised by the page dependency for a form posted after its session ended."""


class _AnswerInstead(Exception):
    """Raised by the page dependency to answer with a redirect or the sign-in form instead."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "strict", "secure": request.url.scheme == "https"}


def _back_to(path: str | None) -> str:
    """Where to go once signed in: the page that sent the person here (a link to a filing in a
    notice), if it is one of this site's; anything else (``//elsewhere``) goes to the pipeline."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/"


class Sending(NamedTuple):
    """A form posted after its session ended: where to, the fields it held (in order, a name
    repeated for each box ticked), and the names of those it held but could not carry (a
    file, a secret), to be entered again: sent without them, it would act on part of what
    the person meant."""

    action: str
    fields: tuple[tuple[str, str], ...]
    unsent: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        """The page that shows the form: a filing's or an entity's for the forms on them (their
        addresses answer a GET by sending back to it), else the form's own address."""
        found = _PAGE_OF_FORM.match(self.action)
        return found.group(0) if found else self.action


def _same_site(request: Request) -> bool:
    """Whether the browser says this request came from one of this site's pages."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    return request.headers.get("origin") == f"{request.url.scheme}://{request.url.netloc}"


def _from_another_site(request: Request) -> bool:
    """Whether the browser says this request came from another site's page; a client saying
    nothing (a script, an older browser) is taken at its word."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}"


_SIGN_IN_FROM_ELSEWHERE = Forbidden(
    "sign in from this site's own sign-in page: a sign-in posted from another site is refused "
    "(请在本站登录页登录)"
)


def _console_route(request: Request, action: str) -> tuple[APIRoute, dict[str, str]] | None:
    """The console form's route ``action`` is the address of (``carry_forms_of``; not the
    sign-in's or sign-out's, not the API's), and its path parameters; None for any other:
    the only places a carried form is sent."""
    dots = any(segment in (".", "..") for segment in action.split("/"))
    if not _CONSOLE_PATH.fullmatch(action) or action.startswith("//") or dots:
        return None
    scope = {"type": "http", "path": action, "method": "POST", "root_path": ""}
    routes: list[APIRoute] = getattr(request.app.state, "console_forms", [])
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child["path_params"]
    return None


def _console_form(request: Request, action: str) -> bool:
    return _console_route(request, action) is not None


def _form_shown(
    request: Request, session: Session, user: PageUser, action: str
) -> tuple[forms.Form | None, frozenset[str]]:
    """The form a carried form was posted from, as its page shows it now, and the page's own
    hidden fields of it (``shown_by``); no form if the route declares none, or its page no
    longer offers it (a filing gone, an event no longer allowed), when the fields go by
    their names."""
    found = _console_route(request, action)
    shown = _FORMS_SHOWN.get(found[0].endpoint) if found else None
    if found is None or shown is None:
        return None, frozenset()
    try:
        return shown.form(session, user, found[1]), shown.own
    except (IcpflowError, ValueError):  # a filing or entity not found, an id not a number
        return None, shown.own


def carry_forms_of(app: FastAPI, *routers: APIRouter) -> None:
    """The console's forms (the POST routes of ``routers``): a form posted to one of them
    after its session ended is carried through the sign-in to be sent again."""
    app.state.console_forms = [
        route
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or ())
    ]


def _carried(action: str, items: list[tuple[str, Any]], unsent: list[str]) -> Sending:
    """The form posted to ``action``: the fields worth carrying, text (a file cannot be)
    under no secret's name, and the names of the others besides ``unsent`` (the stale form
    token aside, which the new session's replaces)."""
    kept = [(n, v) for n, v in items if _carriable(n, v)]
    dropped = [n for n, v in items if not _carriable(n, v) and n != FORM_TOKEN_FIELD]
    return Sending(action, tuple(kept), tuple(dict.fromkeys([*unsent, *dropped])))


def _carriable(name: str, value: object) -> bool:
    return isinstance(value, str) and not _NEVER_CARRIED.search(name)


def _sending_of(request: Request, form: FormData) -> Sending | None:
    """The form a sign-in carries, checked again: the sign-in form came from the browser."""
    action = form.get(SEND_TO_FIELD)
    if not isinstance(action, str) or not _same_site(request):
        return None
    if not _console_form(request, action):
        return None
    sent = [
        (name.removeprefix(SENT_PREFIX), value)
        for name, value in form.multi_items()
        if name.startswith(SENT_PREFIX)
    ]
    unsent = [name for name in form.getlist(UNSENT_FIELD) if isinstance(name, str)]
    return _carried(action, sent, unsent)


_SEND_AFTER_SIGN_IN = Unauthorized(
    "Your sign-in ended before this form was sent: nothing was sent, and nothing you typed "
    "is lost. Sign in to check it and send it. 登录已过期，表单未提交，填写的内容仍在：请重新"
    "登录，核对后提交。"
)


def _sign_in_form(
    request: Request,
    refused: IcpflowError | None = None,
    next_page: str = "/",
    sending: Sending | None = None,
) -> Response:
    response = render(
        request,
        "login.html",
        {
            "user": None,
            "error": refused.message if refused else None,
            "said": said_for(status_of(refused)) if refused else None,
            "next": next_page,
            "sending": sending,
            "send_to_field": SEND_TO_FIELD,
            "sent_prefix": SENT_PREFIX,
            "unsent_field": UNSENT_FIELD,
        },
        status_code=status_of(refused) if refused else 200,
    )
    response.headers.update(headers_of(refused) if refused else {})
    return response


def _sign_in(
    request: Request,
    session: Session,
    token: str,
    location: str,
    sending: Sending | None = None,
) -> Response:
    """Trade a token for a session cookie and go to ``location`` (or, carrying a form, show
    it to send), or show the form saying why not. The form and ``?token=`` links both come
    here, so both count towards the limit."""
    failures: FailedSignIns = request.app.state.failed_sign_ins
    client = request.client.host if request.client else "unknown"
    if not token.strip():
        return _sign_in_form(request, _EMPTY_SIGN_IN, location, sending)
    try:
        failures.check(client)
        found = authenticate(session, token.strip())
    except RateLimited as exc:
        return _sign_in_form(request, exc, location, sending)
    except Unauthorized as exc:
        failures.failed(client)
        return _sign_in_form(request, exc, location, sending)
    lifetime = timedelta(hours=get_settings().page_session_hours)
    session_id = open_session(session, found, lifetime)
    response: Response = RedirectResponse(location, status_code=303)
    if sending is not None:
        # Shown, not sent: the person sees what the form held and sends it themselves.
        response = _to_send(request, session, PageUser(found, form_token(session_id)), sending)
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=int(lifetime.total_seconds()), **_cookie_flags(request)
    )
    return response


def _to_send(
    request: Request,
    session: Session,
    user: PageUser,
    sending: Sending,
    *,
    signed_in_again: bool = False,
) -> Response:
    """The page showing a carried form to send: each field typed by the label its form gave
    it, and what it held as the form showed it (a drop-down's option by its label); the
    page's own hidden fields are sent, not listed. ``signed_in_again``: it came from a page
    of an earlier session, refused (403)."""
    form, own = _form_shown(request, session, user, sending.action)
    labels = {i.name: i.label for i in form.inputs} if form else {}
    listed = [
        (labels.get(name, name), form.shown(name, value) if form else value)
        for name, value in sending.fields
        if value and name not in own
    ]
    context = {
        "user": user,
        "sending": sending,
        "labels": labels,
        "listed": listed,
        "again": signed_in_again,
    }
    return render(request, "send.html", context, status_code=403 if signed_in_again else 200)


_EMPTY_SIGN_IN = ValidationError(
    "Enter your API token. 请输入 API 令牌。",
    [Reason("missing_field", "the token is required", field="token")],
)


@dataclass(frozen=True)
class PageUser:
    """Who is looking at a page: the caller their session stands for, and its form token."""

    caller: Caller
    form_token: str

    @property
    def role(self) -> Role:
        return self.caller.role

    def can(self, role: Role) -> bool:
        """Whether to show them the buttons ``role`` may press."""
        return self.role.rank >= role.rank

    def require(self, role: Role) -> None:
        require_role(self.caller, role)


def page_user(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Query(description="sign in from a link")] = None,
) -> PageUser:
    """The signed-in user; a ``?token=`` link is traded for a session and dropped from the URL,
    so it does not linger in the address bar, history or links copied from the page."""
    if token:
        url = request.url.remove_query_params("token")
        location = url.path + (f"?{url.query}" if url.query else "")
        raise _AnswerInstead(_sign_in(request, session, token, location))
    session_id = request.cookies.get(SESSION_COOKIE)
    try:
        found = resume_session(session, session_id)
        end_read(session)
    except Unauthorized:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method == "POST" and _same_site(request) and _console_form(request, here):
            raise _SignInToSend from None  # its handler reads the form, which takes awaiting
        back = f"/login?{urlencode({'next': here})}" if request.method == "GET" else "/login"
        raise _AnswerInstead(RedirectResponse(back, status_code=303)) from None
    assert session_id is not None
    user = PageUser(found, form_token(session_id))
    request.state.page_user = user  # an error page met later still shows them the console
    return user


PageUserDep = Annotated[PageUser, Depends(page_user)]


def signed_in_user(request: Request) -> PageUser | None:
    """Who is signed in, for a page no route answered (an unknown address): its error page
    still shows them the console. Reads only; anything amiss is someone signed out."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    try:
        # Outside a transaction: on SQLite one would take the write lock for this read.
        reading = get_engine().execution_options(isolation_level="AUTOCOMMIT")
        with Session(reading) as session:
            return PageUser(resume_session(session, session_id), form_token(session_id))
    except (Unauthorized, SQLAlchemyError):
        return None


async def posted_form(request: Request) -> FormData:
    """The form a page posted (Starlette keeps it, so reading it again costs nothing)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def form_user(
    request: Request, session: SessionDep, user: PageUserDep, form: PostedForm
) -> PageUser:
    """The signed-in user of a POST whose form carries their session's CSRF token. A form of
    an earlier session's page (they signed in again, in another tab say), posted from this
    site's own pages to a console form, is refused but not lost: shown to send under this
    session's token, with a click (403, as nothing was done). Any other is refused bare."""
    sent = form.get(FORM_TOKEN_FIELD)
    if isinstance(sent, str) and secrets.compare_digest(sent, user.form_token):
        return user
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if isinstance(sent, str) and sent and _same_site(request) and _console_form(request, here):
        sending = _carried(here, form.multi_items(), [])
        raise _AnswerInstead(_to_send(request, session, user, sending, signed_in_again=True))
    raise Forbidden("this form is out of date or came from another site; reload the page")


FormUserDep = Annotated[PageUser, Depends(form_user)]


class _RedactTokenLinks(logging.Filter):
    """Keep ``?token=`` links out of the server's access log, which records every query string."""

    _TOKEN = re.compile(r"([?&]token=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


_REDACT_TOKEN_LINKS = _RedactTokenLinks()


def show(
    request: Request,
    template: str,
    user: PageUser,
    status_code: int = 200,
    scroll_to: str | None = None,
    **context: Any,
) -> Response:
    """A console page: every template gets the user (their role picks the buttons).
    ``scroll_to`` names what the browser shows first (a refusal far down the page): htmx,
    swapping a page in, would show its top, over the element's ``autofocus``."""
    page = render(request, template, {"user": user, **context}, status_code)
    if scroll_to is not None:
        page.headers["HX-Reswap"] = f"innerHTML show:{scroll_to}:top"
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Query(description="sign in from a link")] = None,
    next_page: Annotated[
        str | None, Query(alias="next", description="the page to go on to")
    ] = None,
) -> Response:
    """The sign-in form; a ``?token=`` link signs in here too, as on any page."""
    if token:
        return _sign_in(request, session, token, _back_to(next_page))
    return _sign_in_form(request, next_page=_back_to(next_page))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    form: PostedForm,
    token: Annotated[str, Form()] = "",
    next_page: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Sign in from the form. Another site's page cannot sign a browser in (to its own
    token, say, so that what the person types next is filed where that site can read it)."""
    if _from_another_site(request):
        return _sign_in_form(request, _SIGN_IN_FROM_ELSEWHERE, _back_to(next_page))
    return _sign_in(request, session, token, _back_to(next_page), _sending_of(request, form))


@router.post("/logout")
def logout(request: Request, session: SessionDep, _: FormUserDep) -> Response:
    """End the session on the server, not just in this browser. A POST carrying the session's
    form token: a link or an image on another site cannot sign anyone out."""
    close_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, **_cookie_flags(request))
    return response


async def _answer_instead(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, _AnswerInstead)
    return exc.response


async def _sign_in_to_send(request: Request, exc: Exception) -> Response:
    """The sign-in form, carrying the form posted after its session ended."""
    assert isinstance(exc, _SignInToSend)
    form = await request.form()
    sending = _carried(request.url.path, form.multi_items(), [])
    return _sign_in_form(request, _SEND_AFTER_SIGN_IN, sending=sending)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    """Browsers and link previews ask here whatever a page links to: each 404 was a log line."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


def install(app: FastAPI) -> None:
    # The same filter each time: an app built again (tests) does not stack a second one.
    logging.getLogger("uvicorn.access").addFilter(_REDACT_TOKEN_LINKS)
    app.state.failed_sign_ins = FailedSignIns(get_settings().sign_in_failures_per_minute)
    app.add_exception_handler(_AnswerInstead, _answer_instead)
    app.add_exception_handler(_SignInToSend, _sign_in_to_send)
    app.mount("/static", StaticFiles(packages=[("web", "static")]), name="static")
    app.include_router(router)
