"""``icpflow orders create`` and ``icpflow entities list|show``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from models import Entity, Service
from tests.factories import (
    ENTITY_MOBILE,
    ORDER_PATHS,
    PERSON_ID,
    PUBLIC_KEY,
    SITE_MOBILE,
    MakeFiling,
    entity_in,
    first_filing_order,
    make_payload,
    on_platform,
    order_on,
    service_in,
)
from workflow import service
from workflow.domain.commands import EventCommand
from workflow.schemas import FilingOut

if TYPE_CHECKING:
    from tests.cli.conftest import Cli
    from tests.conftest import Open


def _create(cli: Cli, tmp_path: Path, body: dict[str, Any]) -> Any:
    path = tmp_path / "order.json"
    kind = body.pop("kind")
    path.write_text(json.dumps(body), encoding="utf-8")
    return cli("orders", "create", "--kind", kind, "--file", str(path), "--json")


def test_an_order_created_from_a_file_shows_its_entity(cli: Cli, tmp_path: Path) -> None:
    result = _create(cli, tmp_path, first_filing_order())
    assert result.exit_code == 0, result.output
    order = json.loads(result.stdout)
    assert order["kind"] == "first_filing"

    shown = cli("entities", "show", str(order["entity_id"]), "--json")
    assert shown.exit_code == 0, shown.output
    entity = json.loads(shown.stdout)
    assert (entity["name"], entity["open_order_id"]) == ("Example Ltd", order["id"])
    listed = cli("entities", "list")
    assert "Example Ltd" in listed.stdout


def test_an_order_file_stores_each_persons_document_and_the_legal_representative(
    cli: Cli, tmp_path: Path, session: Session
) -> None:
    entity = entity_in(
        responsible={
            "name": "Li Lei",
            "mobile": ENTITY_MOBILE,
            "id_type": "resident_id",
            "id_number": PERSON_ID,
            "legal_representative": False,
        }
    )
    person = {"name": "Han Meimei", "mobile": SITE_MOBILE, "id_type": "hk_macao_permit"}
    site = service_in(responsible={**person, "id_number": "H12345678"})

    result = _create(cli, tmp_path, first_filing_order(entity=entity, service=site))

    assert result.exit_code == 0, result.output
    order = json.loads(result.stdout)
    session.rollback()  # the CLI wrote in its own transaction
    on_file = session.get(Entity, order["entity_id"])
    service_on_file = session.get(Service, order["service_id"])
    assert on_file is not None and service_on_file is not None
    assert (
        on_file.responsible_id_type,
        on_file.responsible_id_number,
        on_file.responsible_is_legal_rep,
    ) == ("resident_id", PERSON_ID, False)
    assert (service_on_file.responsible_id_type, service_on_file.responsible_id_number) == (
        "hk_macao_permit",
        "H12345678",
    )


def test_a_refused_order_exits_1_naming_the_field(cli: Cli, tmp_path: Path) -> None:
    body = first_filing_order()
    body["service"] = {**body["service"], "domain_registrant": "Someone Else"}  # type: ignore[dict-item]
    result = _create(cli, tmp_path, body)
    assert result.exit_code == 1
    assert "service.domain_registrant" in result.output


def test_an_unknown_key_in_an_order_file_is_said_with_the_keys_allowed(
    cli: Cli, tmp_path: Path
) -> None:
    result = _create(cli, tmp_path, {"kind": "cancel_service", "service_id": 1, "bogus": 1})
    assert result.exit_code == 1
    assert (
        "unknown field 'bogus'; allowed: kind, entity_id, entity, service_id, service, changes, "
        "licence, notify" in result.output
    )


def test_an_order_file_naming_only_a_service_on_file_is_opened_for_its_entity(
    cli: Cli, tmp_path: Path, on_file: FilingOut
) -> None:
    result = _create(cli, tmp_path, {"kind": "cancel_access", "service_id": on_file.service_id})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["entity_id"] == on_file.entity_id


def test_a_change_orders_new_values_show_with_the_filing(
    cli: Cli, tmp_path: Path, on_file: FilingOut
) -> None:
    changes = {"service_responsible": {"name": "Zhao Yun", "mobile": "13600080010"}}
    body = {"kind": "change", "entity_id": on_file.entity_id, "changes": changes}
    body["service_id"] = on_file.service_id
    order = json.loads(_create(cli, tmp_path, body).stdout)
    shown = cli("filings", "show", str(order["id"]))
    assert shown.exit_code == 0, shown.output
    assert "service_responsible → Zhao Yun 136****0010" in shown.stdout


def test_an_app_platforms_change_shows_with_the_filing(
    cli: Cli, tmp_path: Path, on_file: FilingOut, open_order: Open, session: Session
) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))
    for event, data in ORDER_PATHS["new_service"]:
        app = service.fire_event(session, app.id, EventCommand(event=event, data=data), actor="t")
    session.commit()
    changes = {"app_platforms": {"ios": on_platform("AB" * 20, package="cn.example.ios")}}
    body = {"kind": "change", "entity_id": on_file.entity_id, "changes": changes}
    body["service_id"] = app.service_id
    order = json.loads(_create(cli, tmp_path, body).stdout)

    shown = cli("filings", "show", str(order["id"]))

    assert shown.exit_code == 0, shown.output
    said = f"app_platforms → ios cn.example.ios {'AB' * 20}, key {PUBLIC_KEY[:8]}…"
    assert said in shown.stdout


def test_an_app_order_shows_it_is_an_apps(cli: Cli, on_file: FilingOut, open_order: Open) -> None:
    app = open_order(**order_on("new_service", on_file.entity_id, 0))

    shown = cli("filings", "show", str(app.id))

    assert shown.exit_code == 0, shown.output
    assert re.search(r"service kind\s+│\s+App 应用", shown.stdout), shown.stdout


def test_the_diagram_of_one_kind(cli: Cli) -> None:
    result = cli("diagram", "--kind", "cancel_access")
    assert result.exit_code == 0, result.output
    assert "forward_to_miit" in result.stdout and "sms_sent" not in result.stdout


def test_an_entity_row_shows_the_order_its_identity_has_in_flight(
    cli: Cli, new_filing: MakeFiling
) -> None:
    """Each filing body opens an entity row; one in flight is every such row's."""
    withdrawn = new_filing("withdrawn")
    applicant = make_payload()["applicant"]
    in_flight = new_filing("submitted", domain="other.cn", applicant=applicant)
    assert in_flight.entity_id != withdrawn.entity_id

    shown = json.loads(cli("entities", "show", str(withdrawn.entity_id), "--json").stdout)

    assert shown["open_order_id"] == in_flight.id


def test_entities_show_keeps_each_record_number_whole_on_an_80_column_terminal(
    cramped_cli: Cli, session: Session, open_order: Open
) -> None:
    """Beside a long Chinese name the site's record number was folded, ``京ICP备20260001`` /
    ``23号-1``; the name wraps instead."""
    name = "北京示例网络科技有限公司"
    site = service_in(name="北京示例网络科技官方网站", domain="shili-keji.com.cn")
    order = open_order(
        **first_filing_order(
            entity=entity_in(name=name), service=site | {"domain_registrant": name}
        )
    )
    for event, data in ORDER_PATHS["first_filing"]:
        command = EventCommand(event=event, data=data)
        order = service.fire_event(session, order.id, command, actor="t")
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = cramped_cli("entities", "show", str(order.entity_id)).stdout

    cells = {cell.strip() for line in shown.splitlines() for cell in line.split("│")}
    assert {f"{order.icp_number}", "shili-keji.com.cn"} <= cells, shown


def test_an_order_file_of_another_kind_is_refused_naming_both(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps({"kind": "change", "entity_id": 1}), encoding="utf-8")
    result = cli("orders", "create", "--kind", "new_service", "--file", str(path))
    assert result.exit_code == 1
    assert "'change' order's body, not a 'new_service' one" in result.output


def test_filings_list_narrows_to_one_entitys_orders(
    cli: Cli, new_filing: MakeFiling, open_order: Open
) -> None:
    filed = new_filing("approved")
    new_filing(domain="other.cn")  # another entity's filing
    change = open_order(**order_on("change", filed.entity_id, filed.service_id or 0))

    listed = json.loads(cli("filings", "list", "--entity", str(filed.entity_id), "--json").stdout)

    assert [f["id"] for f in listed["items"]] == [filed.id, change.id]
