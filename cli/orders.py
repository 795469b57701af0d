"""``icpflow entities`` and ``icpflow orders``: entities on file, and orders of any kind.

An order is a filing: once opened it is shown, moved and audited with ``icpflow filings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group, RenderableType

from cli.errors import App
from cli.filing_output import render_filing
from cli.output import (
    ActorOption,
    JsonOption,
    Whole,
    choice_option,
    emit,
    fields,
    limit_option,
    offset_option,
    row_id,
    span,
    table,
)
from cli.search import search_text
from models import session_scope
from workflow import service
from workflow.domain.commands import OrderCreate, parse
from workflow.domain.errors import Reason, ValidationError
from workflow.domain.json_files import read_json
from workflow.domain.orders import OrderKind
from workflow.schemas import EntityOut, EntityPage
from workflow.views import entities as entity_views

entities = App(
    help="Entities (主体) on file, with their services and numbers.", checks_settings=True
)
orders = App(
    help="Open orders of any kind (首次备案, 新增, 变更, 注销, 取消接入...).", checks_settings=True
)


def _person(entity: EntityOut) -> str:
    """The entity's responsible person, their mobile and document masked as the API's."""
    document = entity.responsible_id_number
    said = f" {entity.responsible_id_type} {document}" if document else ""
    return f"{entity.responsible_name} {entity.responsible_mobile}{said}"


def render_entity(entity: EntityOut) -> RenderableType:
    summary = fields(
        [
            ("id", entity.id),
            ("name", f"{entity.name} ({entity.type})"),
            ("identity", f"{entity.id_type} {entity.id_number}"),
            ("province", entity.province),
            ("responsible", _person(entity)),
            ("legal representative", entity.responsible_is_legal_rep),
            ("entity number", entity.icp_number),
            ("status", entity.status),
            ("order in flight", _in_flight(entity)),
        ]
    )
    services = table(
        [
            Whole("id"),
            Whole("kind"),
            "name",
            Whole("domain"),
            Whole("record number"),
            Whole("status"),
        ],
        [(s.id, s.kind, s.name, s.domain, s.record_number, s.status) for s in entity.services],
        title="services",
    )
    return Group(summary, services)


def _in_flight(entity: EntityOut) -> str | None:
    """The identity's order in flight, and whose row it is when not this one's."""
    if entity.open_order_id is None:
        return None
    if entity.open_order_entity_id != entity.id:
        return f"{entity.open_order_id} (entity {entity.open_order_entity_id})"
    return str(entity.open_order_id)


def render_entities(page: EntityPage) -> RenderableType:
    return table(
        [
            Whole("id"),
            "name",
            "province",
            Whole("entity number"),
            Whole("status"),
            "on file",
            Whole("order in flight"),
        ],
        [
            (e.id, e.name, e.province, e.icp_number, e.status, e.on_file, _in_flight(e))
            for e in page.items
        ],
        caption=span(page.offset, len(page.items), page.total),
    )


@entities.command(name="list")
def list_entities(
    name: Annotated[
        str | None,
        typer.Option(
            help="Part of the entity's name (now or under an earlier order), of its ICP number, "
            "or of a service's domain or record number."
        ),
    ] = None,
    limit: Annotated[int, limit_option("entities")] = 50,
    offset: Annotated[int, offset_option("entities")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Entities, oldest first; identity and phone numbers masked."""
    name = search_text(name=name).name
    with session_scope() as session:
        page = entity_views.entity_page(session, name=name, limit=limit, offset=offset)
    emit(page, as_json, lambda: render_entities(page))


@entities.command()
def show(
    entity_id: Annotated[int, row_id("The entity's id (see entities list).")],
    as_json: JsonOption = False,
) -> None:
    """An entity, its number, its services and the order in flight."""
    with session_scope() as session:
        entity = entity_views.entity(session, entity_id)
    emit(entity, as_json, lambda: render_entity(entity))


@orders.command()
def create(
    kind: Annotated[OrderKind, choice_option("The order's kind.", OrderKind, "KIND")],
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            "-f",
            exists=True,
            dir_okay=False,
            help="JSON: the API's POST /orders body (entity_id, entity, service_id, service, "
            "changes, licence, notify as the kind needs); a kind in it must be --kind.",
        ),
    ],
    actor: ActorOption = "cli:$USER",
    as_json: JsonOption = False,
) -> None:
    """Open an order of --kind; every problem with it is listed at once."""
    body = read_json(file)
    if not isinstance(body, dict):
        raise ValidationError(
            f"{file} must hold one JSON object", [Reason("not_an_object", "the order's body")]
        )
    if body.get("kind", kind.value) != kind.value:  # a file meant for another kind of order
        raise ValidationError(
            f"{file} is a {body['kind']!r} order's body, not a {kind.value!r} one",
            [Reason("kind_mismatch", f"--kind is {kind.value!r}", field="kind")],
        )
    command = parse(OrderCreate, {**body, "kind": kind.value}, f"{file} refused")
    with session_scope() as session:
        view = service.create_order(session, command, actor)
    emit(view, as_json, lambda: render_filing(view))
