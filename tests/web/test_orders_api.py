"""Orders of every kind through the REST API: opened under /orders, advanced as filings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.factories import (
    APPROVED_RECORD,
    ORDER_PATHS,
    PUBLIC_KEY,
    another_organisation,
    as_individuals,
    first_filing_order,
    individual_in,
    make_payload,
    on_platform,
    order_on,
    service_in,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi.testclient import TestClient

    from tests.factories import Steps
    from tests.web.conftest import Api


def _open(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.post("/api/v1/orders", json=body, headers=api.headers)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def _drive(api: Api, order: dict[str, Any], kind: str) -> dict[str, Any]:
    return _along(api, order, ORDER_PATHS[kind])


def _along(api: Api, order: dict[str, Any], steps: Steps) -> dict[str, Any]:
    for event, data in steps:
        order = api.step(order, event, data)
    return order


@pytest.fixture
def on_file(api: Api) -> dict[str, Any]:
    return _drive(api, _open(api, first_filing_order()), "first_filing")


@pytest.mark.parametrize("kind", sorted(ORDER_PATHS))
def test_each_kind_runs_to_approval_through_the_api(
    api: Api, on_file: dict[str, Any], kind: str
) -> None:
    order = on_file
    if kind == "cancel_service":  # not the entity's last: that would leave an empty entity
        _drive(api, _open(api, order_on("new_service", on_file["entity_id"], 0)), "new_service")
    if kind != "first_filing":
        body = order_on(kind, on_file["entity_id"], on_file["service_id"])
        order = _drive(api, _open(api, body), kind)
    assert (order["kind"], order["state"]) == (kind, "approved")
    entity = api.get(f"/api/v1/entities/{order['entity_id']}").json()
    subject = order["service_id"] or on_file["service_id"]
    [site] = [s for s in entity["services"] if s["id"] == subject]
    recorded = (entity["status"], entity["icp_number"], site["status"], site["record_number"])
    assert recorded == APPROVED_RECORD[kind]


def test_a_second_order_for_an_entity_is_refused_while_one_is_open(
    api: Api, on_file: dict[str, Any]
) -> None:
    first = _open(api, order_on("cancel_access", on_file["entity_id"], on_file["service_id"]))
    response = api.client.post(
        "/api/v1/orders",
        json=order_on("change", on_file["entity_id"], on_file["service_id"]),
        headers=api.headers,
    )
    assert response.status_code == 422
    [reason] = response.json()["reasons"]
    assert (reason["code"], reason["order_id"], reason["order_kind"]) == (
        "order_in_flight",
        first["id"],
        "cancel_access",
    )


def test_an_order_on_a_service_on_file_needs_no_entity_id_its_entity_is_the_services(
    api: Api, on_file: dict[str, Any]
) -> None:
    order = _open(api, {"kind": "cancel_access", "service_id": on_file["service_id"]})
    assert (order["entity_id"], order["service_id"]) == (
        on_file["entity_id"],
        on_file["service_id"],
    )


def test_a_change_order_on_a_service_on_file_needs_no_entity_id_its_entity_is_the_services(
    api: Api, on_file: dict[str, Any]
) -> None:
    body = {"kind": "change", "service_id": on_file["service_id"]}
    order = _open(api, body | {"changes": {"service_name": "Example Two"}})
    assert (order["entity_id"], order["service_id"]) == (
        on_file["entity_id"],
        on_file["service_id"],
    )


@pytest.mark.parametrize(
    "order",
    [{"kind": "cancel_access"}, {"kind": "change", "changes": {"service_name": "X"}}],
    ids=["cancel_access", "change"],
)
def test_a_service_named_with_another_entity_is_refused_naming_both_entities(
    api: Api, on_file: dict[str, Any], order: dict[str, Any]
) -> None:
    other = api.create(domain="other.cn", applicant=another_organisation(1))
    body = order | {"entity_id": other["entity_id"]}
    response = api.client.post(
        "/api/v1/orders", json=body | {"service_id": on_file["service_id"]}, headers=api.headers
    )
    assert response.status_code == 422
    [reason] = [r for r in response.json()["reasons"] if r["field"] == "service_id"]
    assert reason["code"] == "service_not_found"
    assert reason["message"].endswith(
        f"is a service of entity {on_file['entity_id']} (Example Ltd), not of entity "
        f"{other['entity_id']} (Example Ltd)"
    )


def test_a_change_order_shows_its_new_values_with_the_new_mobile_masked_and_no_legal_rep_for_a_service(
    api: Api, on_file: dict[str, Any]
) -> None:
    person = {"name": "Zhao Yun", "mobile": "13600080010"}
    changes = {"entity_name": "Example Group Ltd", "service_responsible": person}
    body = {
        "kind": "change",
        "entity_id": on_file["entity_id"],
        "service_id": on_file["service_id"],
    }
    order = _open(api, body | {"changes": changes})
    shown = api.get(f"/api/v1/filings/{order['id']}").json()
    assert shown["changes"] == {
        "entity_name": "Example Group Ltd",
        "entity_responsible": None,
        "service_name": None,
        "service_responsible": {
            "name": "Zhao Yun",
            "mobile": "136****0010",
            "email": None,
            "id_type": None,
            "id_number": None,
        },
        "app_platforms": None,
    }
    assert sorted(shown["changing"]) == ["entity_name", "service_responsible"]


def test_a_changed_persons_document_is_shown_masked_in_the_order_and_on_the_service(
    api: Api, on_file: dict[str, Any]
) -> None:
    person = {
        "name": "Zhao Yun",
        "mobile": "13600080010",
        "id_type": "resident_id",
        "id_number": "11010519491231002X",
    }
    body = {
        "kind": "change",
        "entity_id": on_file["entity_id"],
        "service_id": on_file["service_id"],
    }
    order = _open(api, body | {"changes": {"service_responsible": person}})

    shown = order["changes"]["service_responsible"]
    assert (shown["id_type"], shown["id_number"]) == ("resident_id", "110***********002X")
    _drive(api, order, "change")
    entity = api.get(f"/api/v1/entities/{on_file['entity_id']}").json()
    [site] = [s for s in entity["services"] if s["id"] == on_file["service_id"]]
    on_site = (site["responsible_id_type"], site["responsible_id_number"])
    assert on_site == ("resident_id", "110***********002X")


def test_an_app_platforms_change_shows_them_in_the_api_and_on_the_filing_page(
    api: Api, on_file: dict[str, Any], signed_in: Callable[[str], TestClient]
) -> None:
    app = _drive(api, _open(api, order_on("new_service", on_file["entity_id"], 0)), "new_service")
    on_ios = on_platform("AB" * 20, package="cn.example.ShopIOS")
    body = {"kind": "change", "entity_id": on_file["entity_id"], "service_id": app["service_id"]}

    order = _open(api, body | {"changes": {"app_platforms": {"ios": on_ios}}})

    shown = api.get(f"/api/v1/filings/{order['id']}").json()["changes"]["app_platforms"]
    assert shown == {"ios": on_ios}
    page = signed_in("viewer").get(f"/filings/{order['id']}").text
    assert "app on ios" in page and "AB" * 20 in page and "cn.example.ShopIOS" in page
    assert PUBLIC_KEY[:16] in page


def test_an_order_on_the_entity_alone_has_no_domain_expiry(
    api: Api, on_file: dict[str, Any]
) -> None:
    body = {"kind": "change", "entity_id": on_file["entity_id"]}
    order = _open(api, body | {"changes": {"entity_name": "Example Group Ltd"}})
    assert (order["service_id"], order["domain"], order["domain_expires_on"]) == (None, "", None)


def test_an_order_says_what_its_service_is(api: Api, on_file: dict[str, Any]) -> None:
    app = _open(api, order_on("new_service", on_file["entity_id"], 0))
    assert (on_file["service_kind"], app["service_kind"]) == ("website", "app")


def test_an_order_on_the_entity_alone_has_no_service_kind(
    api: Api, on_file: dict[str, Any]
) -> None:
    order = _open(api, order_on("change", on_file["entity_id"], on_file["service_id"]))
    assert order["service_kind"] is None


def test_an_order_of_another_kind_has_no_changes(api: Api, on_file: dict[str, Any]) -> None:
    assert on_file["changes"] is None


def test_an_order_sent_again_with_its_idempotency_key_is_opened_once(
    api: Api, on_file: dict[str, Any]
) -> None:
    body = order_on("change", on_file["entity_id"], on_file["service_id"])
    headers = {**api.headers, "Idempotency-Key": "change-1"}
    first = api.client.post("/api/v1/orders", json=body, headers=headers)
    again = api.client.post("/api/v1/orders", json=body, headers=headers)
    assert (first.status_code, again.status_code, again.json()) == (201, 201, first.json())
    listed = [f["id"] for f in api.get("/api/v1/filings").json()["items"]]
    assert listed == [on_file["id"], first.json()["id"]]


def test_a_mismatched_registrant_is_refused_naming_the_field(api: Api) -> None:
    body = first_filing_order(service=service_in(domain_registrant="Someone Else"))
    response = api.client.post("/api/v1/orders", json=body, headers=api.headers)
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["service.domain_registrant"]


def test_today_s_filing_body_names_the_registrant_field_it_sent(api: Api) -> None:
    response = api.client.post(
        "/api/v1/filings",
        json={**make_payload(), "domain_registrant": "Someone Else"},
        headers=api.headers,
    )
    assert response.status_code == 422
    assert [r["field"] for r in response.json()["reasons"]] == ["domain_registrant"]


def test_the_entity_list_masks_identity_and_phone_numbers(
    api: Api, on_file: dict[str, Any]
) -> None:
    [entity] = api.get("/api/v1/entities").json()["items"]
    assert entity["icp_number"] == APPROVED_RECORD["first_filing"][1]
    assert "*" in entity["id_number"] and "*" in entity["responsible_mobile"]


def test_an_order_lists_who_answers_its_sms(api: Api) -> None:
    order = _open(api, first_filing_order())
    verifiers = api.get(f"/api/v1/filings/{order['id']}/verifiers").json()
    assert [(v["role"], v["result"]) for v in verifiers] == [
        ("entity", "pending"),
        ("service", "pending"),
    ]


def test_the_filings_list_narrows_to_one_entitys_orders(api: Api, on_file: dict[str, Any]) -> None:
    change = _open(api, order_on("change", on_file["entity_id"], on_file["service_id"]))
    api.create(domain="other.cn", applicant=another_organisation(1))  # another entity's

    listed = api.get(f"/api/v1/filings?entity={on_file['entity_id']}").json()

    assert [f["id"] for f in listed["items"]] == [on_file["id"], change["id"]]


def test_an_organisations_document_for_a_person_is_refused_naming_the_field(
    api: Api, on_file: dict[str, Any]
) -> None:
    person = {
        "name": "Li Lei",
        "mobile": "13500135000",
        "id_type": "organisation_code",
        "id_number": "MA01ABCD5",
    }
    body = order_on("change", on_file["entity_id"], on_file["service_id"])
    body |= {"service_id": on_file["service_id"], "changes": {"service_responsible": person}}
    response = api.client.post("/api/v1/orders", json=body, headers=api.headers)
    assert response.status_code == 422
    assert [(r["code"], r["field"]) for r in response.json()["reasons"]] == [
        ("id_type_not_accepted", "changes.service_responsible.id_type")
    ]


def test_today_s_filing_body_refuses_an_organisations_document_for_its_responsible(
    api: Api,
) -> None:
    applicant = {
        **make_payload()["applicant"],  # type: ignore[dict-item]
        "responsible_id_type": "business_licence",
        "responsible_id_number": "91110000MA01ABCD52",
    }
    response = api.client.post(
        "/api/v1/filings", json=make_payload(applicant=applicant), headers=api.headers
    )
    assert response.status_code == 422
    [reason] = response.json()["reasons"]
    assert (reason["code"], reason["field"]) == (
        "id_type_not_accepted",
        "applicant.responsible_id_type",
    )


def test_an_individual_at_a_new_mobile_stays_responsible_with_her_own_document(api: Api) -> None:
    """Her change gives no document: the entity still shows hers, masked."""
    order = _open(
        api,
        first_filing_order(
            entity=individual_in(), service=service_in(domain_registrant="Wang Fang")
        ),
    )
    on_file = _along(api, order, as_individuals(ORDER_PATHS["first_filing"]))
    person = {"name": "Wang Fang", "mobile": "13600080010"}
    change = {"kind": "change", "entity_id": on_file["entity_id"]}

    _drive(api, _open(api, change | {"changes": {"entity_responsible": person}}), "change")

    entity = api.get(f"/api/v1/entities/{on_file['entity_id']}").json()
    shown = (entity["responsible_id_type"], entity["responsible_id_number"])
    assert shown == ("resident_id", "110***********002X")
