"""The console's entities: a list, an entity's page, and the orders an entity on file opens
from it, judged and opened as the API's ``POST /orders`` opens them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from config import bounds
from config.clock import get_clock
from config.settings import get_settings
from models import Entity, Filing
from tests.factories import (
    ENTITY_MOBILE,
    ORDER_PATHS,
    SITE_MOBILE,
    first_filing_order,
    order_on,
    said_beside,
    service_in,
    typable,
)
from workflow import service
from workflow.domain.bounded import CertificateHash
from workflow.domain.commands import (
    AndroidIn,
    ChangesIn,
    EventCommand,
    ServiceIn,
    app_only,
)
from workflow.schemas import FilingOut
from workflow.views import describing

if TYPE_CHECKING:
    from tests.conftest import Open

Console = Callable[[str], TestClient]
ENTITY_KINDS = sorted(kind for kind in ORDER_PATHS if kind != "first_filing")


def _dotted(body: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """An order's JSON as the form posts it: ``service.responsible.mobile``, yes/no as
    ``true``/``false``."""
    fields: dict[str, str] = {}
    for name, value in body.items():
        if isinstance(value, Mapping):
            fields |= _dotted(value, f"{prefix}{name}.")
        else:
            fields[f"{prefix}{name}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    return fields


def _form_fields(body: Mapping[str, Any]) -> dict[str, str]:
    """What the form of an ``order_on`` body is filled with (the entity is the page's), a
    cancellation's box ticked."""
    fields = {
        k: v for k, v in _dotted(body).items() if k not in ("kind", "entity_id", "changes.kind")
    }
    return fields | ({"confirm": "yes"} if str(body["kind"]).startswith("cancel") else {})


def _hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))


def _hidden_of(page: str, kind: str) -> dict[str, str]:
    """The hidden fields of the form opening an order of ``kind``."""
    form = page.split(f'id="order-{kind}">', 1)[1].split("</form>", 1)[0]
    return _hidden(form)


def _post(
    console: TestClient, entity_id: int, kind: str, fields: Mapping[str, str]
) -> httpx.Response:
    hidden = _hidden(console.get(f"/entities/{entity_id}").text)
    answer: httpx.Response = console.post(
        f"/entities/{entity_id}/orders/{kind}", data={**hidden, **fields}, follow_redirects=False
    )
    return answer


def _orders(session: Session) -> int:
    try:
        return session.exec(select(func.count()).select_from(Filing)).one()
    finally:
        session.rollback()  # a SQLite transaction holds the write lock the app needs


def _opened(session: Session, answer: httpx.Response) -> FilingOut:
    assert answer.status_code == 303, answer.text
    try:
        return describing.filing(
            session, int(answer.headers["location"].rsplit("/", 1)[1]), _now(), get_settings()
        )
    finally:
        session.rollback()


def _now() -> Any:
    return get_clock().now()


@pytest.fixture
def entity_id(on_file: FilingOut, session: Session) -> int:
    session.rollback()
    return on_file.entity_id


def test_the_entities_list_finds_an_entity_by_part_of_its_name(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("viewer").get("/entities", params={"name": "xample"}).text

    assert f'<a href="/entities/{entity_id}">Example Ltd</a>' in page
    assert "No entity matches" in signed_in("viewer").get("/entities?name=nobody").text


def test_the_order_forms_say_what_they_leave_out_in_words_not_an_endpoint(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    assert 'id="order-new_service"' in page
    assert "/api/v1" not in page and "POST " not in page
    assert "Extra recipients of an order's notifications are not added here." in page


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("x" * 254, "must be at most 253 characters 不能超过 253 个字符"),
        ("a\x00b", "must hold no control or invisible characters"),
    ],
)
def test_a_refused_entity_search_says_why_beside_the_name(
    signed_in: Console, name: str, words: str
) -> None:
    answer = signed_in("viewer").get("/entities", params={"name": name})
    assert answer.status_code == 422 and words in said_beside(answer.text, "search", "name")


def test_the_name_box_takes_the_longest_name_the_search_takes_in_any_characters(
    signed_in: Console,
) -> None:
    """𠀀 (CJK Extension B, met in personal names) is two UTF-16 code units to a browser."""
    viewer = signed_in("viewer")
    longest = "𠀀" * bounds.DOMAIN

    answer = viewer.get("/entities", params={"name": longest})

    assert typable(viewer.get("/entities").text, "name", longest) and answer.status_code == 200


def test_a_refused_entity_search_comes_back_as_typed_listing_nothing(
    entity_id: int, signed_in: Console
) -> None:
    answer = signed_in("viewer").get("/entities?name=xample&page=99999999999999999999")
    alert = answer.text[answer.text.index('role="alert"') :].split("</div>")[0]

    assert answer.status_code == 422 and "Page 页码: must be 85899346 or less" in alert
    assert 'name="name" value="xample"' in answer.text and "Nothing was searched" in answer.text
    assert f'href="/entities/{entity_id}"' not in answer.text


def test_an_entity_page_shows_its_services_and_orders_with_its_identity_masked(
    entity_id: int, on_file: FilingOut, signed_in: Console
) -> None:
    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    assert "京ICP备2026000123号-1" in page  # the site's record number
    assert f'<a href="/filings/{on_file.id}">#{on_file.id} ' in page
    assert "91110000" not in page and "13800138000" not in page


def test_an_entity_page_names_statuses_and_order_kinds_in_english_and_chinese(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    assert '<span class="pill">on record 已备案</span>' in page  # the entity
    assert '<td data-label="Status 状态">on record 已备案</td>' in page  # its site
    assert (
        '<td data-label="Kind 类型">first_filing <span class="muted">首次备案</span></td>' in page
    )


def test_an_entity_page_names_its_applicant_type_in_english_and_chinese(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    assert f'#{entity_id} <span class="muted">(organisation 单位)</span>' in page


def test_an_entity_page_names_its_identity_document_in_english_and_chinese(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    assert "<dt>Identity 证件</dt><dd>business_licence 营业执照（统一社会信用代码） " in page


def test_the_entities_list_names_each_applicant_type_in_english_and_chinese(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("viewer").get("/entities", params={"name": "xample"}).text

    assert 'Example Ltd</a> <span class="muted">organisation 单位</span>' in page


def test_the_filing_page_names_the_applicant_type_in_english_and_chinese(
    on_file: FilingOut, signed_in: Console
) -> None:
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    assert 'Example Ltd <span class="muted">(organisation 单位)</span>' in page


def test_an_entity_page_counts_its_services_on_file_apart_from_those_it_filed(
    session: Session, entity_id: int, open_order: Callable[..., FilingOut], signed_in: Console
) -> None:
    """An app whose order was withdrawn is listed with the entity, and was never on file."""
    app = open_order(**order_on("new_service", entity_id, 0))
    service.fire_event(
        session, app.id, EventCommand(event="withdraw", data={"reason": "dropped"}), actor="t"
    )
    session.rollback()

    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    caption = "2 services, withdrawn ones too 个(含已撤回), 1 on file and served here 在案"
    assert f"<caption>{caption}</caption>" in page


def test_an_entity_page_counts_one_service_and_one_order_in_the_singular(
    entity_id: int, signed_in: Console
) -> None:
    """The entity on file: its one site, filed by its one order."""
    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    assert "<caption>1 service, withdrawn ones too" in page
    assert "<caption>1 order, newest first" in page


def test_an_entity_page_counts_several_orders_in_the_plural(
    session: Session, entity_id: int, open_order: Callable[..., FilingOut], signed_in: Console
) -> None:
    open_order(**order_on("new_service", entity_id, 0))
    session.rollback()

    page = signed_in("viewer").get(f"/entities/{entity_id}").text

    assert "<caption>2 orders, newest first" in page


def test_the_entities_list_counts_one_entity_in_the_singular(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("viewer").get("/entities", params={"name": "xample"}).text

    assert "<caption>1 entity 个主体</caption>" in page


def test_an_unknown_entity_is_not_found(signed_in: Console) -> None:
    assert signed_in("viewer").get("/entities/999").status_code == 404


def test_the_filing_page_links_its_entity(on_file: FilingOut, signed_in: Console) -> None:
    page = signed_in("viewer").get(f"/filings/{on_file.id}").text

    assert f'<a href="/entities/{on_file.entity_id}">' in page


def _second_site(session: Session, open_order: Callable[..., FilingOut], entity_id: int) -> None:
    """An app beside the site: a site cancelled is then not the entity's last."""
    order = open_order(**order_on("new_service", entity_id, 0))
    for event, data in ORDER_PATHS["new_service"]:
        service.fire_event(session, order.id, EventCommand(event=event, data=data), actor="t")
    session.rollback()


@pytest.mark.parametrize("kind", ENTITY_KINDS)
def test_each_kind_opens_from_the_entity_page_as_the_api_opens_it(
    session: Session,
    entity_id: int,
    on_file: FilingOut,
    open_order: Callable[..., FilingOut],
    signed_in: Console,
    kind: str,
) -> None:
    if kind == "cancel_service":
        _second_site(session, open_order, entity_id)
    body = order_on(kind, entity_id, on_file.service_id or 0)

    order = _opened(session, _post(signed_in("case_manager"), entity_id, kind, _form_fields(body)))

    assert (order.kind, order.entity_id) == (kind, entity_id)
    assert order.service_id == body.get("service_id", order.service_id)


def test_a_new_access_asks_the_record_number_and_a_new_site_does_not(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    assert 'id="order-new_access-service.record_number" name="service.record_number" required' in (
        page
    )
    assert "order-new_service-service.record_number" not in page


@pytest.mark.parametrize("kind", ["cancel_entity", "cancel_service", "cancel_access"])
def test_a_cancellation_left_unconfirmed_is_refused_saying_what_it_cancels(
    session: Session, entity_id: int, on_file: FilingOut, signed_in: Console, kind: str
) -> None:
    fields = _form_fields(order_on(kind, entity_id, on_file.service_id or 0))
    del fields["confirm"]

    answer = _post(signed_in("case_manager"), entity_id, kind, fields)

    assert answer.status_code == 422 and "Confirm 确认" in answer.text
    assert "tick it: once approved" in answer.text
    assert _orders(session) == 1  # the first filing alone


def test_a_cancellation_chooses_among_the_services_on_file(
    entity_id: int, on_file: FilingOut, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    choice = page.split('id="order-cancel_service-service_id"')[1].split("</select>")[0]
    assert " required" in choice.split(">")[0]
    assert f'<option value="{on_file.service_id}">Example · example.cn · ' in choice


def test_a_refused_order_comes_back_filled_with_every_reason_by_its_label(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    fields = _form_fields(order_on("new_service", entity_id, 0))
    fields |= {"service.responsible.mobile": "12345", "service.name": ""}

    answer = _post(signed_in("case_manager"), entity_id, "new_service", fields)

    assert answer.status_code == 422
    assert "Name 名称 is required" in answer.text
    assert re.search(r"Responsible mobile 负责人手机号码[^<]*", answer.text)
    assert 'value="cn.example.app"' in answer.text  # what was typed stays
    assert "<details open>" in answer.text  # the refused form is the one shown open
    assert _orders(session) == 1  # the first filing alone


def test_a_person_left_untouched_is_left_out_not_named_incomplete(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    """The entity's person's legal-representative flag is posted at its default, as shown."""
    fields = {
        "changes.entity_name": "Example Group Ltd",
        "changes.entity_responsible.legal_representative": "true",
    }

    order = _opened(session, _post(signed_in("case_manager"), entity_id, "change", fields))

    assert order.changes is not None and order.changes.entity_responsible is None


def test_a_change_names_only_what_it_changes(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    fields = {"changes.entity_name": "Example Group Ltd"}

    order = _opened(session, _post(signed_in("case_manager"), entity_id, "change", fields))

    assert order.changes is not None
    assert order.changes.model_dump(exclude_none=True) == {"entity_name": "Example Group Ltd"}


def test_an_order_form_posted_twice_opens_one_order(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    console = signed_in("case_manager")
    hidden = _hidden(console.get(f"/entities/{entity_id}").text)
    fields = {**hidden, "changes.entity_name": "Example Group Ltd"}

    first = console.post(f"/entities/{entity_id}/orders/change", data=fields)
    again = console.post(
        f"/entities/{entity_id}/orders/change", data=fields, follow_redirects=False
    )

    assert again.headers["location"] == str(first.url.path)
    assert _orders(session) == 2


def test_an_order_form_sent_again_changed_says_so_and_opens_another_when_sent_once_more(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    """The first order was withdrawn meanwhile: the entity may open another."""
    console = signed_in("case_manager")
    hidden = _hidden(console.get(f"/entities/{entity_id}").text)
    url = f"/entities/{entity_id}/orders/change"
    first = _opened(
        session,
        console.post(url, data={**hidden, "changes.entity_name": "A Ltd"}, follow_redirects=False),
    )
    service.fire_event(
        session, first.id, EventCommand(event="withdraw", data={"reason": "typo"}), actor="t"
    )
    session.rollback()

    again = console.post(url, data={**hidden, "changes.entity_name": "B Ltd"})
    resent = console.post(
        url, data={**_hidden(again.text), "changes.entity_name": "B Ltd"}, follow_redirects=False
    )

    assert again.status_code == 422 and "this form opened an order already" in again.text
    assert _opened(session, resent).id != first.id


def test_each_form_of_a_stale_page_opens_its_own_order(
    session: Session, entity_id: int, on_file: FilingOut, signed_in: Console
) -> None:
    """Another of the page's forms opened an order, since withdrawn: this one still opens."""
    console = signed_in("case_manager")
    page = console.get(f"/entities/{entity_id}").text
    change = {**_hidden_of(page, "change"), "changes.entity_name": "A Ltd"}
    first = _opened(
        session,
        console.post(f"/entities/{entity_id}/orders/change", data=change, follow_redirects=False),
    )
    service.fire_event(
        session, first.id, EventCommand(event="withdraw", data={"reason": "typo"}), actor="t"
    )
    session.rollback()
    fields = {
        **_hidden_of(page, "new_service"),
        **_form_fields(order_on("new_service", entity_id, 0)),
    }

    answer = console.post(
        f"/entities/{entity_id}/orders/new_service", data=fields, follow_redirects=False
    )

    assert _opened(session, answer).id != first.id


def test_an_entity_with_an_order_in_flight_offers_no_form_and_links_the_order(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    console = signed_in("case_manager")
    order = _opened(session, _post(console, entity_id, "change", {"changes.entity_name": "X"}))

    page = console.get(f"/entities/{entity_id}").text

    assert f'Order <a href="/filings/{order.id}">#{order.id}</a> is still open' in page
    assert "/orders/" not in page


def test_a_cancelled_entity_filed_again_names_the_row_its_identity_s_order_belongs_to(
    session: Session, on_file: FilingOut, open_order: Open, signed_in: Console
) -> None:
    cancel = open_order(**order_on("cancel_entity", on_file.entity_id, 0))
    for event, data in ORDER_PATHS["cancel_entity"]:
        command = EventCommand(event=event, data=data)
        cancel = service.fire_event(session, cancel.id, command, actor="t")
    again = open_order(**first_filing_order())
    session.rollback()

    page = signed_in("case_manager").get(f"/entities/{on_file.entity_id}").text

    assert again.entity_id != on_file.entity_id
    assert (
        f'#{again.id}</a> <span class="muted">of the same identity filed again as '
        f'<a href="/entities/{again.entity_id}">entity #{again.entity_id}</a>'
    ) in page
    assert "is still open" not in page


def test_a_form_refused_for_an_order_opened_meanwhile_comes_back_with_what_was_typed(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    """A stale page: another tab opened a change since."""
    console = signed_in("case_manager")
    stale = _hidden(console.get(f"/entities/{entity_id}").text)
    _opened(session, _post(console, entity_id, "change", {"changes.entity_name": "A Ltd"}))
    fields = _form_fields(order_on("new_service", entity_id, 0))

    answer = console.post(f"/entities/{entity_id}/orders/new_service", data={**stale, **fields})

    assert answer.status_code == 422 and "in flight" in answer.text
    assert 'value="cn.example.app"' in answer.text


def test_an_order_names_the_service_it_concerns(
    session: Session, entity_id: int, on_file: FilingOut, signed_in: Console
) -> None:
    console = signed_in("case_manager")
    _opened(session, _post(console, entity_id, "change", {"changes.entity_name": "A Ltd"}))

    page = console.get(f"/entities/{entity_id}").text

    assert '<td data-label="Service 网站/App">Website 网站 Example</td>' in page
    assert (
        '<td data-label="Service 网站/App"><span class="muted">the entity 主体</span></td>' in page
    )


def test_a_choice_with_a_default_offers_no_blank_that_would_mean_it(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    sector = page.split('id="order-new_service-service.sector"')[1].split("</select>")[0]
    assert '<option value="">' not in sector and 'value="general" selected' in sector


def test_a_new_sites_licence_is_offered_by_its_chinese_name_and_key(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    licence = page.split('id="order-new_service-licence"')[1].split("</select>")[0]
    assert '<option value="filing" selected>非经营性互联网信息服务备案 (filing)</option>' in licence


def test_an_empty_change_is_refused_naming_the_changes_by_label(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    answer = _post(signed_in("case_manager"), entity_id, "change", {})

    assert answer.status_code == 422 and "Changes 变更内容 is required" in answer.text


def test_a_value_padded_with_a_separator_is_refused_as_the_api_refuses_it(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    fields = {"changes.entity_name": "\x1cExample Co\x1f"}

    answer = _post(signed_in("case_manager"), entity_id, "change", fields)

    assert answer.status_code == 422
    assert _orders(session) == 1


def test_a_change_of_a_person_not_the_legal_representative_keeps_them_so(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    """Retyped to add an email, with the choice shown as on record and left alone."""
    flag = "changes.entity_responsible.legal_representative"
    entity = session.get(Entity, entity_id)
    assert entity is not None
    entity.responsible_is_legal_rep = False
    session.add(entity)
    session.commit()
    console = signed_in("case_manager")
    page = console.get(f"/entities/{entity_id}").text
    shown = page.split(f'id="order-change-{flag}"')[1].split("</select>")[0]
    person = {
        "changes.entity_responsible.name": "Li Lei",
        "changes.entity_responsible.mobile": ENTITY_MOBILE,
        "changes.entity_responsible.email": "lei@example.cn",
        flag: "false",
    }

    order = _opened(session, _post(console, entity_id, "change", person))

    assert 'value="false" selected' in shown
    assert order.changes is not None and order.changes.entity_responsible is not None
    assert order.changes.entity_responsible.legal_representative is False


def test_a_change_leaving_the_person_alone_opens_with_their_choice_still_as_on_record(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    """The form shows "not the legal representative" preset: posted as it is, beside no
    other field of the person, it is no person to change, not one named incomplete."""
    entity = session.get(Entity, entity_id)
    assert entity is not None
    entity.responsible_is_legal_rep = False
    session.add(entity)
    session.commit()
    fields = {
        "changes.entity_name": "Example Group Ltd",
        "changes.entity_responsible.legal_representative": "false",
    }

    order = _opened(session, _post(signed_in("case_manager"), entity_id, "change", fields))

    assert order.changes is not None and order.changes.entity_responsible is None


def test_a_viewer_sees_the_entity_but_may_not_open_an_order(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    viewer = signed_in("viewer")
    page = viewer.get(f"/entities/{entity_id}").text
    fields = {**_hidden(page), "opening_key": "0" * 32, "changes.entity_name": "X"}

    answer = viewer.post(f"/entities/{entity_id}/orders/change", data=fields)

    assert "/orders/" not in page
    assert answer.status_code == 403
    assert _orders(session) == 1


@pytest.mark.parametrize("kind", ["first_filing", "renewal"])
def test_a_kind_not_opened_from_an_entity_page_is_not_found(
    entity_id: int, signed_in: Console, kind: str
) -> None:
    assert _post(signed_in("case_manager"), entity_id, kind, {}).status_code == 404


def test_a_refused_orders_address_reloaded_is_the_entitys_page(
    entity_id: int, signed_in: Console
) -> None:
    answer = signed_in("viewer").get(f"/entities/{entity_id}/orders/change", follow_redirects=False)

    assert (answer.status_code, answer.headers["location"]) == (303, f"/entities/{entity_id}")


def test_a_persons_document_is_chosen_among_a_persons_documents_only(
    entity_id: int, signed_in: Console
) -> None:
    """Every responsible person of every form: a resident ID card or a passport, never a
    business licence, each offered by its Chinese name and key."""
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    chosen = re.findall(r'id="order-[a-z_]+-([a-z_.]+\.id_type)"[^>]*>(.*?)</select>', page, re.S)
    assert {name for name, _ in chosen} == {
        "service.responsible.id_type",
        "changes.entity_responsible.id_type",
        "changes.service_responsible.id_type",
    }
    for _, options in chosen:
        offered = re.findall(r'<option value="([a-z_]+)"', options)
        assert "resident_id" in offered and "passport" in offered
        assert "business_licence" not in offered and "organisation_code" not in offered
        assert '<option value="resident_id">居民身份证 (resident_id)</option>' in options


def test_an_organisations_document_for_a_person_is_refused_beside_its_choice(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    """Posted all the same (the drop-down does not offer it), it is refused by the domain."""
    fields = {
        "changes.entity_responsible.name": "Li Lei",
        "changes.entity_responsible.mobile": ENTITY_MOBILE,
        "changes.entity_responsible.id_type": "business_licence",
        "changes.entity_responsible.id_number": "91110000MA01ABCD52",
    }

    answer = _post(signed_in("case_manager"), entity_id, "change", fields)

    assert answer.status_code == 422
    said = said_beside(answer.text, "order-change", "changes.entity_responsible.id_type")
    assert "is not an identity document for a person" in said
    assert _orders(session) == 1


def _app_platforms_of(page: str, kind: str) -> str:
    """What the folded-away app platforms of the form opening an order of ``kind`` hold."""
    form = page.split(f'id="order-{kind}">', 1)[1].split("</form>", 1)[0]
    folded = re.findall(
        r'<details class="group">\s*<summary>(.*?)</summary>(.*?)</details>', form, re.S
    )
    assert [title for title, _ in folded] == [
        "App platforms (apps, mini programs, quick apps only) App 平台（仅 App、小程序、快应用）"
    ]
    return str(folded[0][1])


@pytest.mark.parametrize("kind", ["new_service", "new_access", "change"])
def test_an_apps_own_inputs_are_folded_away_in_one_group(
    entity_id: int, signed_in: Console, kind: str
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text
    form = page.split(f'id="order-{kind}">', 1)[1].split("</form>", 1)[0]
    folded = _app_platforms_of(page, kind)

    part, model = ("changes", ChangesIn) if kind == "change" else ("service", ServiceIn)
    apps_own = [  # under the fields its model marks as only an app's
        name
        for name in re.findall(r' name="([a-z_.]+)"', form)
        if name.startswith(f"{part}.") and name.split(".")[1] in app_only(model)
    ]
    assert len(apps_own) >= 9
    assert re.findall(r' name="([a-z_.]+)"', folded) == apps_own
    assert "<fieldset>" in folded


def test_a_website_opens_from_the_entity_page_leaving_the_app_inputs_blank(
    session: Session, entity_id: int, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text
    blanks = dict.fromkeys(
        re.findall(r'name="([a-z_.]+)"', _app_platforms_of(page, "new_service")), ""
    )
    site = service_in(domain="example.net", name="Example Two")
    fields = _form_fields({"kind": "new_service", "service": site}) | blanks

    order = _opened(session, _post(signed_in("case_manager"), entity_id, "new_service", fields))

    assert (order.kind, order.service_kind) == ("new_service", "website")


def test_an_app_refused_for_its_platform_comes_back_with_its_platforms_unfolded(
    entity_id: int, on_file: FilingOut, signed_in: Console
) -> None:
    fields = _form_fields(order_on("new_service", entity_id, on_file.service_id or 0))
    fields["service.app_platforms.android.fingerprint"] = "not a fingerprint"

    answer = _post(signed_in("case_manager"), entity_id, "new_service", fields)

    assert answer.status_code == 422
    form = answer.text.split('id="order-new_service">', 1)[1].split("</form>", 1)[0]
    assert '<details class="group" open>' in form


def _hint_of(form: str, name: str) -> str:
    return str(re.search(rf'id="order-change-{re.escape(name)}-hint">([^<]*)<', form)[1])  # type: ignore[index]


def test_the_change_form_says_what_is_on_file_now_masked_as_the_page_masks_it(
    entity_id: int, signed_in: Console
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text
    form = page.split('id="order-change">', 1)[1].split("</form>", 1)[0]

    assert _hint_of(form, "changes.entity_name").startswith("now 现为: Example Ltd")
    assert _hint_of(form, "changes.service_name").startswith("now 现为: Example (example.cn)")
    assert _hint_of(form, "changes.entity_responsible.mobile").startswith("now 现为: 138****8000")
    assert _hint_of(form, "changes.service_responsible.mobile").startswith("now 现为: 137****7000")
    assert ENTITY_MOBILE not in form and SITE_MOBILE not in form


def test_a_new_access_asks_its_record_number_first(entity_id: int, signed_in: Console) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text
    form = page.split('id="order-new_access">', 1)[1].split("</form>", 1)[0]

    asked = [n for n in re.findall(r' name="([a-z_.]+)"', form) if n.startswith("service.")]
    assert asked[0] == "service.record_number"


@pytest.mark.parametrize(
    ("platform", "hashed", "not_hashed"),
    [("android", "MD5", "SHA-1"), ("ios", "SHA-1", "MD5"), ("harmonyos", "MD5 或 SHA-1", None)],
)
def test_each_platforms_fingerprint_is_labelled_by_the_hash_its_help_names(
    entity_id: int, signed_in: Console, platform: str, hashed: str, not_hashed: str | None
) -> None:
    page = signed_in("case_manager").get(f"/entities/{entity_id}").text
    name = f"order-new_service-service.app_platforms.{platform}.fingerprint"
    label = re.search(rf'<label for="{re.escape(name)}">([^<]*)</label>', page)[1]  # type: ignore[index]
    help_ = re.search(rf'id="{re.escape(name)}-hint">([^<]*)<', page)[1]  # type: ignore[index]

    zh = label.split("App 平台：", 1)[1]
    assert f"（{hashed}）" in zh and hashed.split(" ")[0] in help_
    assert not_hashed is None or (not_hashed not in zh and not_hashed not in help_)


def _fingerprint_label(page: str, platform: str) -> str:
    name = f"order-new_service-service.app_platforms.{platform}.fingerprint"
    return str(re.search(rf'<label for="{re.escape(name)}">([^<]*)</label>', page)[1])  # type: ignore[index]


def test_a_fingerprints_label_names_the_hash_its_platforms_model_declares(
    entity_id: int, signed_in: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = AndroidIn.model_fields["fingerprint"]
    monkeypatch.setattr(field, "metadata", [CertificateHash(("SHA-256",))])

    page = signed_in("case_manager").get(f"/entities/{entity_id}").text

    assert _fingerprint_label(page, "android") == (
        "App platforms android fingerprint (SHA-256) App 平台：安卓证书指纹（SHA-256）"
    )


@pytest.mark.parametrize("platform", ["android", "ios", "harmonyos"])
def test_the_api_describes_each_fingerprint_by_the_hash_the_console_labels_it_by(
    entity_id: int, signed_in: Console, platform: str
) -> None:
    console = signed_in("case_manager")
    hashed = re.search(
        r"\((.+?)\)", _fingerprint_label(console.get(f"/entities/{entity_id}").text, platform)
    )[1]  # type: ignore[index]
    schemas = console.get("/openapi.json").json()["components"]["schemas"]
    model = {"android": "AndroidIn", "ios": "IosIn", "harmonyos": "HarmonyOsIn"}[platform]

    assert (
        schemas[model]["properties"]["fingerprint"]["description"] == f"the certificate's {hashed}"
    )
