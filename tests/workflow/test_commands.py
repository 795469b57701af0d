"""The typed commands: shape problems refused, each named by its path, all at once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_payload
from workflow.domain.commands import FilingCreate, OrderCreate, parse, unknown_keys
from workflow.domain.definition import EVENTS_BY_NAME
from workflow.domain.errors import Reason, ValidationError, renamed
from workflow.domain.rules import RulesError


def refused(model: type[Any], raw: Any, prefix: tuple[str, ...] = ()) -> list[Reason]:
    """Why the shape refuses ``raw``: at once, or, a command's unknown keys alone, set aside
    for the service to refuse with the rules' reasons (``unknown_keys``)."""
    try:
        command = parse(model, raw, "refused", prefix)
    except ValidationError as err:
        return err.reasons
    assert unknown_keys(command), "nothing was refused"
    return unknown_keys(command)


def problems(model: type[Any], raw: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(r.code, r.field or "") for r in refused(model, raw, prefix)]


def payload(**changes: Any) -> dict[str, Any]:
    """A valid creation payload with ``changes`` to its top level or its applicant."""
    raw: dict[str, Any] = make_payload()
    for key, value in changes.items():
        if key.startswith("applicant."):
            raw["applicant"][key.removeprefix("applicant.")] = value
        else:
            raw[key] = value
    return raw


def without(raw: dict[str, Any], *paths: str) -> dict[str, Any]:
    for path in paths:
        *parents, leaf = path.split(".")
        node = raw
        for key in parents:
            node = node[key]
        del node[leaf]
    return raw


def test_valid_payload_parses() -> None:
    assert parse(FilingCreate, make_payload(), "refused").licence == "filing"


def test_misspelt_top_level_field_is_refused_by_name() -> None:
    raw = without(payload(license="commercial"), "licence")
    assert problems(FilingCreate, raw) == [("unknown_field", "license")]


def test_unknown_nested_field_is_refused_by_its_path() -> None:
    raw = payload(**{"applicant.nmae": "Example Ltd"})
    assert problems(FilingCreate, raw) == [("unknown_field", "applicant.nmae")]


def said(model: type[Any], raw: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    return [r.message for r in refused(model, raw, prefix)]


def test_a_commands_unknown_keys_alone_are_set_aside_and_the_rest_parsed() -> None:
    raw = payload(colour="red", **{"applicant.nmae": "x"})
    command = parse(FilingCreate, raw, "refused")
    assert (command.applicant.name, [r.field for r in unknown_keys(command)]) == (
        "Example Ltd",
        ["applicant.nmae", "colour"],
    )


def test_an_unknown_key_is_said_with_the_fields_its_model_allows() -> None:
    assert said(OrderCreate, {"kind": "cancel_service", "service_id": 1, "bogus": 1}) == [
        "unknown field 'bogus'; allowed: kind, entity_id, entity, service_id, service, "
        "changes, licence, notify"
    ]


def test_an_unknown_nested_key_is_said_with_the_fields_of_the_model_it_was_sent_in() -> None:
    raw = {"kind": "change", "entity_id": 1, "service_id": 1, "changes": {"name": "x"}}
    assert said(OrderCreate, raw) == [
        "unknown field 'changes.name'; allowed: entity_name, entity_responsible, service_name, "
        "service_responsible, app_platforms"
    ]


def test_an_unknown_key_in_a_list_item_is_said_with_the_items_fields() -> None:
    raw = payload(notify=[{"channel": "log", "recipient": "desk", "to": "x"}])
    assert said(FilingCreate, raw) == ["unknown field 'notify[0].to'; allowed: channel, recipient"]


def test_an_unknown_key_of_a_model_with_many_fields_names_the_likely_ones_first() -> None:
    raw = payload(**{"applicant.emial": "a@example.cn"})
    assert said(FilingCreate, raw) == [
        "unknown field 'applicant.emial'; allowed: email, type, name, id_type, id_number, "
        "phone, responsible, responsible_id_type and 2 more"
    ]


def test_an_unknown_event_data_key_is_said_with_the_events_data_fields() -> None:
    data = {"service_number": "BA2026000123", "server_ip": "8.8.8.8", "colour": "red"}
    assert said(EVENTS_BY_NAME["bind_service_number"].data, data, ("data",)) == [
        "unknown field 'data.colour'; allowed: service_number, server_ip"
    ]


def test_the_keys_allowed_beside_an_unknown_one_are_renamed_only_when_asked() -> None:
    data = {"service_number": "BA2026000123", "server_ip": "8.8.8.8", "colour": "red"}
    with pytest.raises(ValidationError) as err:
        parse(EVENTS_BY_NAME["bind_service_number"].data, data, "refused", ("data",))
    names = {"data.colour": "--data colour", "data.server_ip": "--ip"}

    as_labels = renamed(err.value, names, say_which=True)  # a form's: the API's keys
    as_options = renamed(err.value, names, allowed_too=True)

    assert [r.message for r in as_labels.reasons] == [
        "unknown field '--data colour'; allowed: service_number, server_ip"
    ]
    assert [r.message for r in as_options.reasons] == [
        "unknown field '--data colour'; allowed: service_number, --ip"
    ]
    assert (
        as_options.message
        == "refused: unknown field '--data colour'; allowed: service_number, --ip"
    )
    assert "allowed" not in as_options.reasons[0].as_dict()


def test_a_day_that_does_not_exist_is_refused_with_the_format_a_day_is_written_in() -> None:
    assert said(FilingCreate, payload(domain_expires_on="2028-13-30")) == [
        "domain_expires_on: month value is outside expected range of 1-12; "
        "give a date such as 2026-03-02 (YYYY-MM-DD)"
    ]


def test_a_moment_that_does_not_exist_is_refused_with_the_format_a_moment_is_written_in() -> None:
    assert said(EVENTS_BY_NAME["sms_sent"].data, {"sent_at": "2026-13-01T10:00"}, ("data",)) == [
        "data.sent_at: month value is outside expected range of 1-12; give a date and time "
        "such as 2026-03-02T22:10 (Beijing time) or 2026-03-02T14:10Z"
    ]


def test_routes_must_name_a_known_channel_and_a_recipient() -> None:
    raw = payload(
        notify=[{"channel": "pager", "recipient": "x"}, {"channel": "email", "recipient": " "}]
    )
    assert problems(FilingCreate, raw) == [
        ("invalid_field", "notify[0].channel"),
        ("missing_field", "notify[1].recipient"),
    ]


def test_an_email_route_with_a_display_name_is_refused() -> None:
    raw = payload(notify=[{"channel": "email", "recipient": "Foo <a@b.cn>"}])
    assert problems(FilingCreate, raw) == [("invalid_field", "notify[0].recipient")]


def test_every_shape_problem_is_reported_at_once() -> None:
    raw = without(
        payload(license="x", domain_expires_on="next year", **{"applicant.phone": 13800138000}),
        "province",
        "website.name",
    )
    raw["applicant"]["nmae"] = "x"
    assert sorted(problems(FilingCreate, raw)) == sorted(
        [
            ("unknown_field", "license"),
            ("invalid_date", "domain_expires_on"),
            ("invalid_field", "applicant.phone"),
            ("missing_field", "province"),
            ("missing_field", "website.name"),
            ("unknown_field", "applicant.nmae"),
        ]
    )


def test_missing_applicant_is_named_once() -> None:
    assert problems(FilingCreate, without(payload(), "applicant")) == [
        ("missing_field", "applicant")
    ]


def test_blank_string_counts_as_missing() -> None:
    assert problems(FilingCreate, payload(**{"applicant.name": "  "})) == [
        ("missing_field", "applicant.name")
    ]


def test_a_blank_value_sent_is_said_to_be_empty_and_a_missing_one_required() -> None:
    with pytest.raises(ValidationError) as blank:
        parse(FilingCreate, payload(**{"applicant.name": ""}), "refused")
    with pytest.raises(ValidationError) as missing:
        parse(FilingCreate, without(payload(), "province"), "refused")
    assert [r.message for r in blank.value.reasons] == ["applicant.name must not be empty"]
    assert [r.message for r in missing.value.reasons] == ["province is required"]


def test_unknown_licence_kind_is_invalid() -> None:
    assert problems(FilingCreate, payload(licence="cdn")) == [("invalid_field", "licence")]


def test_unknown_applicant_type_is_invalid() -> None:
    assert problems(FilingCreate, payload(**{"applicant.type": "robot"})) == [
        ("invalid_field", "applicant.type")
    ]


def test_licence_and_sector_default() -> None:
    raw = without(payload(), "licence", "website.sector")
    command = parse(FilingCreate, raw, "refused")
    assert (command.licence, command.website.sector) == ("filing", "general")


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        ("grant_pre_approval", {}, [("missing_field", "data.document")]),
        ("grant_pre_approval", {"document": "  "}, [("missing_field", "data.document")]),
        ("grant_pre_approval", {"document": 3}, [("invalid_field", "data.document")]),
        ("withdraw", {"reason": None}, [("invalid_field", "data.reason")]),
        ("withdraw", {"reason": "x", "why": "y"}, [("unknown_field", "data.why")]),
        ("submit", {"materials": "a,b"}, [("invalid_field", "data.materials")]),
        ("host_approve", {"note": "x"}, [("unknown_field", "data.note")]),
        (
            "bind_service_number",
            {"service_number": "", "colour": "red"},
            [
                ("missing_field", "data.service_number"),
                ("missing_field", "data.server_ip"),
                ("unknown_field", "data.colour"),
            ],
        ),
    ],
)
def test_event_data_is_checked_against_the_event_declaration(
    event: str, data: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems(EVENTS_BY_NAME[event].data, data, ("data",)) == expected


def test_renaming_fields_keeps_an_error_built_from_more_than_a_message() -> None:
    broken = RulesError("rules.toml", ["no provinces"])

    shown = renamed(broken, {"rules_file": "--rules"})

    assert isinstance(shown, RulesError) and shown.problems == ["no provinces"]
    assert [r.field for r in shown.reasons] == ["--rules"]
    assert str(shown) == "invalid rules in rules.toml"


def test_renaming_fields_renames_them_in_the_headline_and_the_reasons() -> None:
    reason = Reason("missing_field", "domain_expires_on is required", field="domain_expires_on")
    refused = ValidationError("filing refused: domain_expires_on is required", [reason])

    shown = renamed(refused, {"domain_expires_on": "--expires"})

    assert str(shown) == shown.message == "filing refused: --expires is required"
    assert [r.message for r in shown.reasons] == ["--expires is required"]
    assert refused.message == "filing refused: domain_expires_on is required"  # not changed


@pytest.mark.parametrize(
    "written",
    ["+86 138 0013 8000", "+86-138-0013-8000", "0086 13800138000", "138 0013 8000", "13800138000"],
)
def test_a_mobile_written_grouped_or_with_the_country_code_is_its_11_digits(written: str) -> None:
    """One number however typed: a mobile listed for another person is then told."""
    applicant = {**payload()["applicant"], "phone": written}
    assert (
        FilingCreate.model_validate(payload(applicant=applicant)).applicant.phone == "13800138000"
    )


def test_a_number_that_is_no_mainland_mobile_is_kept_as_typed_for_its_check_to_name() -> None:
    applicant = {**payload()["applicant"], "phone": "+86 128 0013 8000"}
    shown = FilingCreate.model_validate(payload(applicant=applicant)).applicant.phone
    assert shown == "+86 128 0013 8000"
