"""The console's entities (主体): a list searchable by name, and an entity's page with its
services, its orders, and a form for each order an entity on file can open (a new site or
app, a new access, a change, a cancellation), so a case manager need not write the API's JSON.

Each form is built from the part of ``OrderCreate`` its kind needs (``KindSpec.service``,
``Effect``): a new service's fields from ``ServiceIn``, a change's from ``ChangesIn``, a
service on file chosen among the entity's. Its inputs are named by the paths the API names
fields by (``service.responsible.mobile``), so a refusal points at the input it is about; the
order is opened by ``service.create_order`` under the form's key (``web.opening.opened``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo
from sqlmodel import Session

from auth.tokens import Role
from config.clock import get_clock
from config.settings import get_settings
from web.auth import SessionDep
from web.console import PAGE_SIZE, Page, Refused, Text, listed, pages_of, service_names
from web.forms import (
    ZH,
    Choice,
    Form,
    Group,
    Input,
    Option,
    field_input,
    held_type,
    nested,
    part_fields,
)
from web.opening import KEY_FIELD, assign_to_me, new_key, opened, with_choices
from web.pages import FormUserDep, PageUser, PageUserDep, PostedForm, show, shown_by
from workflow import service
from workflow.domain.bounded import RowId, certificate_hash
from workflow.domain.commands import (
    ChangesIn,
    OrderCreate,
    PersonIn,
    ServiceIn,
    app_only,
    parse,
)
from workflow.domain.definition import in_words, spoken
from workflow.domain.errors import NotFound, Reason, ValidationError
from workflow.domain.orders import (
    KINDS,
    Effect,
    EntityStatus,
    KindSpec,
    Party,
    ServiceStatus,
)
from workflow.domain.rules import Rules, rules_for
from workflow.schemas import EntityOut, FilingOut, FilingSort, ServiceOut
from workflow.views import entities as entity_views
from workflow.views import search as filing_search
from workflow.views.search import FilingFilters

router = APIRouter(include_in_schema=False)

# Every kind but the first filing, which brings its entity (``/filings/new``).
ENTITY_KINDS: tuple[KindSpec, ...] = tuple(spec for spec in KINDS if spec.entity is not Party.NEW)
_KINDS_BY_NAME = {spec.kind.value: spec for spec in ENTITY_KINDS}

# What the page calls a person, by the part of the order they are in; a field of theirs or
# of a service takes its name from ``web.forms.ZH``, but for these two, which the glossary
# gives other things.
_ZH_WHOSE = {
    "responsible": "负责人",
    "entity_responsible": "主体负责人",
    "service_responsible": "网站/App 负责人",
    "app_platforms": "App 平台：",
}
# The parts of an order that are a responsible person, as its models say (a ``PersonIn``,
# the entity's own kind of one too, optional or not): their document is a person's, so its
# drop-down offers a person's documents only, never an organisation's.
_PERSONS = frozenset(
    name
    for model in (ServiceIn, ChangesIn)
    for name, field in model.model_fields.items()
    if held_type(field.annotation, PersonIn) is not None
)
_ZH_OWN = {"kind": "类型", "name": "名称"}  # a service's own
_ZH_PERSON_NAME = "姓名"
# What a cancellation's box makes its sender confirm: the order, once approved, cannot be
# undone by another (a number cancelled here is never filed here again).
CONFIRM_FIELD = "confirm"
_CONFIRMS = {
    Effect.CANCEL_ENTITY: "once approved, the entity's record and every site and app on it "
    "are cancelled 批准后注销主体及其全部网站/App",
    Effect.CANCEL_SERVICE: "once approved, the chosen site's or app's record is cancelled "
    "批准后注销该网站/App",
    Effect.REMOVE_ACCESS: "once approved, this host no longer serves the chosen site or app "
    "批准后取消本接入商的接入",
}
# The fields of a service (``ServiceIn``) or a change (``ChangesIn``) a website has none of,
# as their models mark them (``commands.AppOnly``, which
# ``app_identity.check_website_fields`` reads too): an app's, a mini program's or a quick
# app's, shown folded away so that a website's order is short.
_APP_ONLY = frozenset((*app_only(ServiceIn), *app_only(ChangesIn)))
APP_PLATFORMS = Group(
    "App platforms (apps, mini programs, quick apps only) App 平台（仅 App、小程序、快应用）",
    "Left blank for a website. 网站无需填写。",
)
# What a new access is about: the service's number filed through another host.
_RECORD_NUMBER = "service.record_number"
# The parts of an order (``OrderCreate``'s fields a form fills), as a reason names them.
_PARTS = {"service": "Service 网站/App", "changes": "Changes 变更内容"}


class EntitySearch(BaseModel):
    """The list's query: a part of the name, and the page; each field's title is its label
    on the search form, as the filings' search has them (``web.console.Search``)."""

    model_config = ConfigDict(extra="ignore")  # as the filings' search: a shared link opens

    name: Text = Field(None, title="Name 名称")
    page: Page = Field(1, title="Page 页码")


class OrdersPage(BaseModel):
    """An entity page's query: the page of its orders."""

    model_config = ConfigDict(extra="ignore")

    page: Page = 1


@router.get("/entities", response_class=HTMLResponse)
def entities(request: Request, session: SessionDep, user: PageUserDep) -> Response:
    """Every entity, by a part of its name now or under an earlier order; masked. A search
    refused comes back as the filings' does (``web.console.listed``)."""

    def results(search: EntitySearch) -> dict[str, Any]:
        found = entity_views.entity_page(
            session, name=search.name, limit=PAGE_SIZE, offset=(search.page - 1) * PAGE_SIZE
        )
        return {"found": found, "pages": pages_of(found.total, search.page)}

    return listed(request, user, "entities.html", EntitySearch, results)


@router.get("/entities/{entity_id}", response_class=HTMLResponse)
def entity(
    request: Request,
    entity_id: RowId,
    session: SessionDep,
    user: PageUserDep,
    query: Annotated[OrdersPage, Query()],
) -> Response:
    """The entity, its services and orders, and the orders it can open."""
    return entity_page(request, session, user, entity_id, query.page)


def entity_page(
    request: Request,
    session: Session,
    user: PageUser,
    entity_id: int,
    page: int = 1,
    refused: Refused | None = None,
    key: str | None = None,
) -> Response:
    """The entity's page; with ``refused``, that order's form again, filled as it was sent,
    its reasons beside it (422), under ``key`` (the one it was sent with, when nothing was
    opened under it)."""
    settings = get_settings()
    shown = entity_views.entity(session, entity_id)
    orders = filing_search.filing_page(
        session,
        get_clock().now(),
        FilingFilters(entity=entity_id, sort=FilingSort.ID, descending=True),
        settings=settings,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    forms = (
        order_forms(shown, rules_for(settings), assign_to_me(session, user))
        if user.can(Role.CASE_MANAGER)
        else []
    )
    if not opens_orders(shown):
        # A stale page's form refused (an order opened meanwhile): only it, with what was
        # typed, so nothing is lost.
        forms = [form for form in forms if refused is not None and form.id == refused.form]
    return show(
        request,
        "entity.html",
        user,
        entity=shown,
        services={s.id: f"{s.kind.label} {s.name}" for s in shown.services},
        opens=opens_orders(shown),
        orders=orders,
        service_names=service_names(session, orders.items),
        pages=pages_of(orders.total, page),
        forms=forms,
        # A key per form, named as the route reads it: a stale page's other forms still open
        # their own order.
        hidden={
            form.id: {KEY_FIELD: key if key and refused and form.id == refused.form else new_key()}
            for form in forms
        },
        refused=refused,
        status_code=422 if refused else 200,
        scroll_to="#refused" if refused else None,
    )


def opens_orders(entity: EntityOut) -> bool:
    """Whether the page offers the forms: to an entity on file with no order open (one at a
    time); the service refuses any other all the same, and says why."""
    return entity.status is EntityStatus.ACTIVE and entity.open_order_id is None


def _order_shown(session: Session, user: PageUser, at: Mapping[str, str]) -> Form | None:
    """The form of an order of ``at``'s kind, as the entity's page shows it to ``user``."""
    spec = _KINDS_BY_NAME.get(at["kind"])
    if spec is None:
        return None
    entity = entity_views.entity(session, int(at["entity_id"]))
    forms = order_forms(entity, rules_for(get_settings()), assign_to_me(session, user))
    return next((form for form in forms if form.id == _form_id(spec)), None)


@router.post("/entities/{entity_id}/orders/{kind}")
@shown_by(_order_shown, own=(KEY_FIELD,))
def open_order(
    request: Request,
    entity_id: RowId,
    kind: str,
    session: SessionDep,
    user: FormUserDep,
    form: PostedForm,
) -> Response:
    """Open an order of ``kind`` for the entity and show its page."""
    user.require(Role.CASE_MANAGER)
    spec = _KINDS_BY_NAME.get(kind)
    if spec is None:
        raise NotFound(f"no order of kind {kind!r} is opened from an entity's page")
    inputs = order_form(
        spec, entity_views.entity(session, entity_id), rules_for(get_settings())
    ).inputs

    def order(key: str) -> FilingOut:
        asked = (i for i in inputs if i.name != CONFIRM_FIELD)
        body = {**nested(asked, form), "kind": spec.kind.value, "entity_id": entity_id}
        unconfirmed: list[Reason] = []
        if spec.effect in _CONFIRMS and not form.get(CONFIRM_FIELD):
            told = f"tick it: {_CONFIRMS[spec.effect]}"
            unconfirmed.append(Reason("not_confirmed", told, field=CONFIRM_FIELD))
        try:
            command = parse(OrderCreate, body, "order refused")
        except ValidationError as refused:  # every problem at once, the box's too
            raise ValidationError(refused.message, [*refused.reasons, *unconfirmed]) from None
        if unconfirmed:
            raise ValidationError("not opened: a cancellation is confirmed first", unconfirmed)
        return service.create_order(session, command, user.caller.actor, idempotency_key=key)

    def again(key: str, refused: Refused) -> Response:
        return entity_page(request, session, user, entity_id, refused=refused, key=key)

    return opened(session, user, form, _form_id(spec), order, again)


@router.get("/entities/{entity_id}/orders/{kind}", include_in_schema=False)
def after_a_refused_order(entity_id: RowId, kind: str) -> Response:
    """The address a refused order's page shows: reloaded, it is the entity's page again."""
    return RedirectResponse(f"/entities/{entity_id}", status_code=303)


def order_forms(entity: EntityOut, rules: Rules, mine: tuple[Input, ...]) -> list[Form]:
    """A form for each kind an entity on file can open, each ending with ``mine``."""
    return [
        replace(form, inputs=(*form.inputs, *mine))
        for form in (order_form(spec, entity, rules) for spec in ENTITY_KINDS)
    ]


def order_form(spec: KindSpec, entity: EntityOut, rules: Rules) -> Form:
    """What an order of ``spec`` asks: a service on file to choose, a new service described,
    the changes, as its kind needs."""
    inputs: list[Input] = []
    if spec.service in (Party.EXISTING, Party.OPTIONAL):
        inputs.append(_service_on_file(entity, required=spec.service is Party.EXISTING))
    if spec.service is Party.NEW:
        described = [
            _part_input(path, field, required or path == _RECORD_NUMBER, rules)
            for path, field, required in part_fields(ServiceIn, "service")
            if path != _RECORD_NUMBER or spec.effect is Effect.ADD_ACCESS
        ]
        # A new access's key: the number filed through another host, asked first.
        inputs += sorted(described, key=lambda i: i.name != _RECORD_NUMBER)
        licence = field_input("licence", OrderCreate.model_fields["licence"])
        inputs.append(with_choices(licence, "licence", rules))
    if spec.effect is Effect.APPLY_CHANGES:
        inputs += [
            _now_on_file(_on_record(_part_input(path, field, required, rules), entity), entity)
            for path, field, required in part_fields(ChangesIn, "changes", required=False)
        ]
    if spec.effect in _CONFIRMS:
        confirm = Choice("yes", _CONFIRMS[spec.effect], checked=False)
        inputs.append(Input(CONFIRM_FIELD, "Confirm 确认", "", (confirm,), None, required=True))
    parts = {path.rsplit(".", 1)[0] for i in inputs for path in [i.name] if "." in path}
    return Form(
        _form_id(spec),
        f"/entities/{entity.id}/orders/{spec.kind.value}",
        spoken(spec.kind.value, spec.label_zh),
        spec.description,
        tuple(inputs),
        parts={part: _part_label(part) for part in sorted(parts)},
    )


def _on_record(shown: Input, entity: EntityOut) -> Input:
    """A change's choice shown as the record has it: the entity's person retyped to add an
    email stays not the legal representative, as on record, unless the choice is changed."""
    if shown.name != "changes.entity_responsible.legal_representative":
        return shown
    return replace(shown, default=str(entity.responsible_is_legal_rep).lower())


def _now_on_file(shown: Input, entity: EntityOut) -> Input:
    """A change's input saying, under it, what the record holds now (``now 现为: …``), masked
    as the entity's page shows it (``views.entities.entity``); for a service's field, each service on
    file's, by its name where the entity has several. An email, which no page shows, is not
    said, nor is what the record does not hold."""
    offered = {o.value: o.label for o in shown.options or ()}
    held = [
        (whose, offered.get(value, value))
        for whose, value in _on_file(shown.name.split(".")[1:], entity)
        if value
    ]
    if not held:
        return shown
    several = len({whose for whose, _ in held}) > 1 and shown.name != "changes.service_name"
    now = "; ".join(f"{whose}: {value}" if several else value for whose, value in held)
    return replace(
        shown, description=" · ".join(filter(None, (f"now 现为: {now}", shown.description)))
    )


def _on_file(parts: list[str], entity: EntityOut) -> list[tuple[str, str | None]]:
    """What the record holds of a change's field (``["service_responsible", "mobile"]``), by
    whose it is: the entity's, or each service's on file (by its name)."""
    top, *rest = parts
    services = [s for s in entity.services if s.status is ServiceStatus.ACTIVE]
    if top == "entity_name":
        return [(entity.name, entity.name)]
    if top == "entity_responsible":
        person = {
            "name": entity.responsible_name,
            "mobile": entity.responsible_mobile,
            "id_type": entity.responsible_id_type,
            "id_number": entity.responsible_id_number,
            "legal_representative": str(entity.responsible_is_legal_rep).lower(),
        }
        return [(entity.name, person.get(rest[0]))]
    if top == "service_name":
        return [(s.name, f"{s.name} ({s.app_identifier or s.domain})") for s in services]
    if top == "service_responsible":
        return [(s.name, _service_person(s, rest[0])) for s in services]
    if top == "app_platforms":
        platform, leaf = rest
        return [
            (s.name, _shortened(getattr(on, leaf)))
            for s in services
            if (on := (s.app_platforms or {}).get(platform)) is not None
        ]
    return []


def _service_person(service: ServiceOut, leaf: str) -> str | None:
    """A service's responsible person's ``leaf`` on file (masked), or that it has none of its
    own: the entity's answers for it."""
    if service.responsible_name is None:
        return "the entity's 同主体" if leaf == "name" else None
    person = {
        "name": service.responsible_name,
        "mobile": service.responsible_mobile,
        "id_type": service.responsible_id_type,
        "id_number": service.responsible_id_number,
    }
    return person.get(leaf)


def _shortened(value: str | None, most: int = 24) -> str | None:
    """A long value (a certificate's public key) cut to its start, enough to tell which."""
    return value if value is None or len(value) <= most else f"{value[:most]}…"


def _form_id(spec: KindSpec) -> str:
    return f"order-{spec.kind.value}"


def _service_on_file(entity: EntityOut, *, required: bool) -> Input:
    """The entity's services on record to choose among (none chosen by default)."""
    field = OrderCreate.model_fields["service_id"]
    shown = field_input("service_id", field, required=required, label="Service 网站/App")
    options = tuple(
        Option(str(s.id), f"{s.name} · {s.app_identifier or s.domain} · {s.record_number}")
        for s in entity.services
        if s.status is ServiceStatus.ACTIVE
    )
    return replace(shown, options=options, description="a website or app of this entity's on file")


def _part_input(path: str, field: FieldInfo, required: bool, rules: Rules) -> Input:
    """A field of the order's part, with the rules file's choices where it has them; a
    person's document type among a person's documents (``Rules.person_documents``)."""
    *whose, leaf = parts = path.split(".")[1:]
    shown = field_input(path, field, required=required, label=_label(parts, field))
    if parts[0] in _APP_ONLY:
        shown = replace(shown, group=APP_PLATFORMS)
    person = bool(whose) and whose[-1] in _PERSONS
    return with_choices(shown, f"person_{leaf}" if person and leaf == "id_type" else leaf, rules)


def _part_label(path: str) -> str:
    """``changes.entity_responsible`` -> ``Entity responsible 主体负责人``; ``service`` ->
    ``Service 网站/App``; ``service.app_platforms.ios`` -> ``App platforms ios App 平台：iOS``."""
    top, *rest = path.split(".")
    if not rest:
        return _PARTS[top]
    return spoken("_".join(rest), _zh_whose(rest))


def _label(parts: list[str], field: FieldInfo) -> str:
    """``["responsible", "mobile"]`` -> ``Responsible mobile 负责人手机号码``;
    ``["app_platforms", "android", "public_key"]`` -> ``App platforms android public key
    App 平台：安卓证书公钥``; a fingerprint names the hash its model declares
    (``bounded.certificate_hash``: ``App platforms android fingerprint (MD5) …``)."""
    english = in_words("_".join(parts))
    *whose, what = parts
    if not whose:
        return f"{english} {_ZH_OWN.get(what) or ZH[what]}"
    if (hashed := certificate_hash(field)) is not None:
        return f"{english} ({hashed.en}) {_zh_whose(whose)}{ZH[what]}（{hashed.zh}）"
    return f"{english} {_zh_whose(whose)}{_ZH_PERSON_NAME if what == 'name' else ZH[what]}"


def _zh_whose(parts: list[str]) -> str:
    """Whose a field is, in Chinese: a person (``_ZH_WHOSE``), an app's platform (``ZH``)."""
    return "".join(_ZH_WHOSE.get(part) or ZH[part] for part in parts)
