"""``icpflow filings``: the case manager's commands, end to end on the real database."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from auth.tokens import Role, create_token
from cli.main import app
from config.clock import FrozenClock
from config.settings import get_settings
from models import Entity, Filing, Job, Notification, Service
from tests.databases import writes_held
from tests.factories import (
    FLAT_FILING,
    ORG_CREDIT_CODE,
    ORG_MATERIALS,
    MakeFiling,
    another_organisation,
    expiry_on_the_real_clock,
    make_payload,
    order_on,
)
from workflow import service
from workflow.domain.commands import EventCommand
from workflow.domain.definition import DEADLINES_BY_KIND, EVENTS_BY_NAME, State
from workflow.domain.flat import IMPORT_COLUMNS
from workflow.domain.orders import OrderKind
from workflow.schemas import FilingSort
from workflow.service import SYSTEM_ACTOR
from workflow.views import history

if TYPE_CHECKING:
    from tests.cli.conftest import Cli
    from tests.conftest import Open
    from tests.databases import Database
    from workflow.schemas import FilingOut


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_create_from_options_names_each_missing_option_as_typed(cli: Cli) -> None:
    refused = cli("filings", "create", "--domain", "example.cn", "--json")
    assert refused.exit_code == 1
    fields = {r["field"] for r in json.loads(refused.stdout)["reasons"]}
    assert {"--expires", "--applicant-type", "--site-name"} <= fields
    assert not fields & {"domain_expires_on", "applicant.type", "website.name"}


def test_create_then_show_round_trips(cli: Cli) -> None:
    created = cli(
        "filings",
        "create",
        "--domain",
        "example.cn",
        "--expires",
        "2028-06-30",
        "--province",
        "京",
        "--applicant-type",
        "organisation",
        "--applicant-name",
        "Example Ltd",
        "--id-type",
        "business_licence",
        "--id-number",
        ORG_CREDIT_CODE,
        "--phone",
        "13800138000",
        "--email",
        "ops@example.cn",
        "--responsible",
        "Han Meimei",
        "--site-name",
        "Example",
        "--actor",
        "alice",
        "--json",
    )
    assert created.exit_code == 0, created.output
    filing = json.loads(created.stdout)

    shown = cli("filings", "show", str(filing["id"]), "--json")

    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {**filing, "sent_back": None}
    assert (filing["domain"], filing["state"], filing["licence"]) == (
        "example.cn",
        "domain_registered",
        "filing",
    )
    assert "bind_service_number" in filing["allowed_events"]
    assert filing["deadlines"]


# What each way of opening a first filing is told of the responsible person's document,
# the legal representative and the domain's registrant, and what is then on file.
_STORED = {
    "responsible_id_type": "passport",
    "responsible_id_number": "E12345678",
    "legal_representative": "false",
    "domain_registrant": "Example Ltd",
    "domain_real_name_verified": "true",
}


def _on_file(session: Session, filing: dict[str, Any]) -> tuple[Any, ...]:
    """What the entity and the service of ``filing`` hold, read back from their rows."""
    session.rollback()  # the CLI wrote in its own transaction
    entity = session.get(Entity, filing["entity_id"])
    service = session.get(Service, filing["service_id"])
    assert entity is not None and service is not None
    return (
        entity.responsible_id_type,
        entity.responsible_id_number,
        entity.responsible_is_legal_rep,
        service.domain_registrant,
        service.domain_real_name_verified,
    )


def test_create_stores_the_responsible_persons_document_and_legal_representative(
    cli: Cli, session: Session
) -> None:
    options = [
        f"--{name.replace('_', '-')}={value}"
        for name, value in FLAT_FILING.items()
        if value and name not in _STORED
    ]
    options = [o.replace("--domain-expires-on", "--expires") for o in options]
    stored = [f"--{name.replace('_', '-')}={value}" for name, value in _STORED.items()]

    created = cli("filings", "create", *options, *stored, "--json")

    assert created.exit_code == 0, created.output
    filing = json.loads(created.stdout)
    assert _on_file(session, filing) == ("passport", "E12345678", False, "Example Ltd", True)


@pytest.mark.parametrize(
    ("actor", "says"),
    [
        ("", "one line"),
        ("x" * 101, "one line"),
        ("sys\ntem", "one line"),
        ("system", "the scheduler or an API token"),
        ("token:alice", "the scheduler or an API token"),
    ],
    ids=["empty", "too long", "two lines", "the scheduler", "an API token"],
)
def test_an_actor_history_could_not_tell_apart_is_refused(
    cli: Cli, created: dict[str, Any], actor: str, says: str
) -> None:
    refused = cli(
        "filings", "fire", str(created["id"]), "withdraw", "--reason", "x", "--actor", actor
    )

    assert refused.exit_code == 2 and says in refused.output
    shown = json.loads(cli("filings", "show", str(created["id"]), "--json").stdout)
    assert shown["state"] == created["state"]


def _bind(cli: Cli, created: dict[str, Any], number: str, ip: str, *more: str) -> Result:
    """``filings fire ID bind_service_number`` with the service number and server address."""
    return cli(
        "filings",
        "fire",
        str(created["id"]),
        "bind_service_number",
        "--data",
        f"service_number={number}",
        "--data",
        f"server_ip={ip}",
        *more,
    )


def test_fire_moves_the_state(cli: Cli, created: dict[str, Any]) -> None:
    fired = _bind(cli, created, "BA2026000123", "8.8.8.8", "--json")
    assert fired.exit_code == 0, fired.output
    after = json.loads(fired.stdout)
    assert (after["state"], after["version"]) == ("service_number_bound", created["version"] + 1)

    submitted = cli(
        "filings",
        "fire",
        str(created["id"]),
        "submit",
        "--materials",
        ",".join(ORG_MATERIALS),
        "--expected-version",
        str(after["version"]),
        "--json",
    )
    assert submitted.exit_code == 0, submitted.output
    assert json.loads(submitted.stdout)["state"] == "submitted"


def test_a_version_conflict_names_the_expected_version_option_as_typed(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = _bind(
        cli, created, "BA2026000123", "8.8.8.8", "--expected-version", str(created["version"] + 1)
    )
    assert result.exit_code == 1
    reasons = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert reasons == ["--expected-version: reload the filing and retry"]


def test_guard_failure_exits_1_with_one_error_line_and_every_reason(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = _bind(cli, created, "x!", "10.0.0.1")
    assert result.exit_code == 1
    assert len(error_lines(result.stderr)) == 1
    reasons = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert any(r.startswith("--data service_number") for r in reasons)
    assert any(r.startswith("--data server_ip") for r in reasons)
    assert result.stdout == ""


def test_a_refusal_with_one_reason_says_it_once_on_the_error_line_with_its_field(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = _bind(cli, created, "BA0000000001", "x")
    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [
            "error: event 'bind_service_number' refused: --data server_ip: 'x' is not an IPv4 "
            "address: expected four numbers from 0 to 255 separated by dots, like 114.114.114.114"
        ],
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["withdraw", "--data", "foo=bar", "--reason", "x"],
            "unknown field '--data foo'; allowed: --reason",
        ),
        (
            ["withdraw", "--data", "foo=bar", "--data", "reason=x"],
            "unknown field '--data foo'; allowed: --data reason",
        ),
        (
            ["bind_service_number", "--data", "foo=bar"],
            "unknown field '--data foo'; allowed: --data service_number, --data server_ip",
        ),
    ],
    ids=["a shorthand", "a shorthand typed as --data", "no shorthand"],
)
def test_an_unknown_data_key_lists_the_keys_allowed_as_the_options_giving_them(
    cli: Cli, created: dict[str, Any], args: list[str], said: str
) -> None:
    result = cli("filings", "fire", str(created["id"]), *args, "--json")

    assert result.exit_code == 1
    assert said in result.stderr, result.stderr
    reasons = json.loads(result.stdout)["reasons"]
    assert said in [reason["message"] for reason in reasons]


def test_create_file_with_a_misspelt_field_exits_1_naming_it(cli: Cli, tmp_path: Path) -> None:
    payload = make_payload(license="commercial")
    del payload["licence"]
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload), encoding="utf-8")

    result = cli("filings", "create", "--file", str(path))

    assert result.exit_code == 1
    [line] = error_lines(result.stderr)
    assert "unknown field 'license'" in line
    assert json.loads(cli("filings", "list", "--json").stdout)["total"] == 0


def test_create_file_with_an_unknown_key_lists_it_with_every_rule_the_rest_breaks(
    cli: Cli, tmp_path: Path
) -> None:
    payload = make_payload(province="XX")
    payload["website"]["colour"] = 1  # type: ignore[index]
    payload["applicant"]["email"] = "not-an-email"  # type: ignore[index]
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(payload), encoding="utf-8")

    result = cli("filings", "create", "--file", str(path), "--json")

    assert result.exit_code == 1
    assert [r["field"] for r in json.loads(result.stdout)["reasons"]] == [
        "website.colour",
        "province",
        "applicant.email",
    ]


def test_an_unknown_data_key_is_listed_with_what_the_guards_refuse(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = _bind(cli, created, "X1", "8.8.8.8", "--data", "foo=1", "--json")

    assert result.exit_code == 1
    assert [r["field"] for r in json.loads(result.stdout)["reasons"]] == [
        "--data foo",
        "--data service_number",
    ]


def test_unknown_filing_exits_1_naming_it(cli: Cli) -> None:
    result = cli("filings", "show", "999")
    assert result.exit_code == 1
    assert error_lines(result.stderr) == ["error: filing 999 does not exist"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(**overrides: str) -> list[str]:
    return [{**FLAT_FILING, **overrides}[column] for column in IMPORT_COLUMNS]


def test_import_takes_good_rows_and_reports_bad_ones_by_line_with_every_reason(
    cli: Cli, tmp_path: Path
) -> None:
    first, second = (
        {key: str(value) for key, value in another_organisation(n).items()} for n in (1, 2)
    )
    path = write_csv(
        tmp_path / "filings.csv",
        list(IMPORT_COLUMNS),
        [
            row(),
            row(
                domain="example.io",
                province="港",
                id_number=first["id_number"],
                phone=first["phone"],
            ),
            row(domain="second.cn", id_number=second["id_number"], phone=second["phone"]),
            row(phone=""),
        ],
    )
    result = cli("filings", "import", str(path), "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert len(report["imported"]) == 2
    errors = {e["line"]: {r.get("field") for r in e["reasons"]} for e in report["errors"]}
    assert errors == {3: {"domain", "province"}, 5: {"phone"}}
    listed = json.loads(cli("filings", "list", "--json").stdout)
    assert sorted(f["domain"] for f in listed["items"]) == ["example.cn", "second.cn"]
    assert len(error_lines(result.stderr)) == 1


@pytest.mark.parametrize(
    "separator",
    ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"],
    ids=["form-feed", "FS", "GS", "RS", "NEL", "line-separator", "paragraph-separator"],
)
@pytest.mark.parametrize("quoted", [False, True], ids=["bare", "quoted"])
def test_a_cell_holding_a_line_separator_is_refused_by_its_field_on_its_own_line(
    cli: Cli, tmp_path: Path, separator: str, quoted: bool
) -> None:
    """Only CR LF, LF and CR end a record: the row keeps its cells, and the rows after it
    their line numbers."""
    first, second = (
        {key: str(value) for key, value in another_organisation(n).items()} for n in (1, 2)
    )
    name = f"Exam{separator}ple Ltd"
    path = write_csv(
        tmp_path / "filings.csv",
        list(IMPORT_COLUMNS),
        [
            row(applicant_name=f'"{name}"' if quoted else name),
            row(domain="second.cn", id_number=first["id_number"], phone=first["phone"]),
            row(domain="third.cn", id_number=second["id_number"], phone=""),
        ],
    )

    result = cli("filings", "import", str(path), "--json")

    report = json.loads(result.stdout)
    errors = {e["line"]: [r.get("field") for r in e["reasons"]] for e in report["errors"]}
    assert errors == {2: ["applicant_name"], 4: ["phone"]}
    assert len(report["imported"]) == 1
    assert error_lines(result.stderr) == ["error: 2 of 3 rows refused; the other 1 were imported"]


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_a_cell_padded_with_an_information_separator_is_refused_as_the_api_refuses_it(
    cli: Cli, tmp_path: Path, separator: str
) -> None:
    """Python strips FS, GS, RS and US as spaces; the API refuses them as control characters."""
    path = write_csv(
        tmp_path / "filings.csv", list(IMPORT_COLUMNS), [row(applicant_name=f"Example{separator}")]
    )

    result = cli("filings", "import", str(path), "--json")

    [refused] = json.loads(result.stdout)["errors"]
    assert [r["field"] for r in refused["reasons"]] == ["applicant_name"]


INDIVIDUAL = {
    "applicant_type": "individual",
    "applicant_name": "Wang Fang",
    "id_type": "resident_id",
    "id_number": "11010519491231002X",
}


@pytest.mark.parametrize(
    ("left_out", "cells_of"),
    [
        (("responsible",), INDIVIDUAL),
        (("domain_registrant", "domain_real_name_verified", "legal_representative"), {}),
    ],
    ids=["individuals-without-responsible", "written-before-domain-and-legal-representative"],
)
def test_a_file_may_leave_out_columns_its_rows_do_not_need(
    cli: Cli, tmp_path: Path, left_out: tuple[str, ...], cells_of: dict[str, str]
) -> None:
    """An individual is their own responsible person; a file written before the domain's
    registrant and the legal representative were asked for imports as it did then."""
    header = [c for c in IMPORT_COLUMNS if c not in left_out]
    cells = dict(zip(IMPORT_COLUMNS, row(**cells_of), strict=True))
    path = write_csv(tmp_path / "filings.csv", header, [[cells[c] for c in header]])

    result = cli("filings", "import", str(path), "--json")

    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["imported"]) == 1


def test_an_organisations_row_without_its_responsible_person_is_refused_asking_for_one(
    cli: Cli, tmp_path: Path
) -> None:
    """A file written before the column names no one; the legal representative, whom the row
    does not name either, cannot stand in, so the row is refused by its column."""
    header = [c for c in IMPORT_COLUMNS if c != "responsible"]
    cells = dict(zip(IMPORT_COLUMNS, row(), strict=True))
    path = write_csv(tmp_path / "filings.csv", header, [[cells[c] for c in header]])

    report = json.loads(cli("filings", "import", str(path), "--json").stdout)

    [refused] = report["errors"]
    [reason] = refused["reasons"]
    assert (reason["code"], reason["field"]) == ("responsible_person_missing", "responsible")
    assert reason["message"].startswith("responsible is required unless the applicant")


def test_import_stores_the_responsible_persons_document_and_legal_representative(
    cli: Cli, session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "filings.csv", list(IMPORT_COLUMNS), [row(**_STORED)])

    result = cli("filings", "import", str(path), "--json")

    assert result.exit_code == 0, result.output
    [filing_id] = json.loads(result.stdout)["imported"]
    filing = json.loads(cli("filings", "show", str(filing_id), "--json").stdout)
    assert _on_file(session, filing) == ("passport", "E12345678", False, "Example Ltd", True)


def test_a_row_whose_domain_is_registered_to_another_is_refused_naming_its_column(
    cli: Cli, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "filings.csv", list(IMPORT_COLUMNS), [row(domain_registrant="Someone Else")]
    )

    report = json.loads(cli("filings", "import", str(path), "--json").stdout)

    [refused] = report["errors"]
    assert [r["field"] for r in refused["reasons"]] == ["domain_registrant"]


def test_import_refuses_a_file_with_missing_or_unknown_columns(cli: Cli, tmp_path: Path) -> None:
    header = [c for c in IMPORT_COLUMNS if c != "phone"] + ["fax"]
    path = write_csv(tmp_path / "filings.csv", header, [row()[: len(header)]])

    result = cli("filings", "import", str(path))

    assert result.exit_code == 1
    assert "missing column 'phone'" in result.stderr
    assert "unknown column 'fax'" in result.stderr
    assert json.loads(cli("filings", "list", "--json").stdout)["total"] == 0


def test_import_refuses_a_file_with_a_cell_too_large_to_read_naming_its_line(
    cli: Cli, tmp_path: Path
) -> None:
    rows = [row(domain="first.cn"), row(applicant_name="x" * 200_000)]
    path = write_csv(tmp_path / "filings.csv", list(IMPORT_COLUMNS), rows)

    result = cli("filings", "import", str(path))

    assert (result.exit_code, result.stderr.splitlines()[0]) == (
        1,
        f"error: {path}: line 3 cannot be read",
    )
    assert json.loads(cli("filings", "list", "--json").stdout)["total"] == 0


def test_import_names_the_line_a_multi_line_record_too_large_to_read_starts_on(
    cli: Cli, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "filings.csv", list(IMPORT_COLUMNS), [row()])
    huge = '"' + "x\n" * 70_000 + '"'
    path.write_text(path.read_text() + ",".join([huge, *row()[1:]]) + "\n", encoding="utf-8")

    result = cli("filings", "import", str(path))

    assert result.stderr.splitlines()[0] == f"error: {path}: line 3 cannot be read"


def test_import_refuses_a_header_too_large_to_read(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "filings.csv"
    path.write_text("x" * 200_000 + "\n", encoding="utf-8")

    result = cli("filings", "import", str(path))

    assert (result.exit_code, result.stderr.splitlines()[0]) == (
        1,
        f"error: {path}: line 1 cannot be read",
    )


def test_list_searches_by_kind_and_domain_as_the_console_does(
    cli: Cli, new_filing: MakeFiling, open_order: Open
) -> None:
    filed = new_filing("approved", domain="shop.cn")
    new_filing(domain="shopping.cn")
    new_filing(domain="blog.cn")
    change = open_order(**order_on("change", filed.entity_id, filed.service_id or 0))

    listed = json.loads(cli("filings", "list", "--domain", "shop", "--json").stdout)
    assert [f["domain"] for f in listed["items"]] == ["shop.cn", "shopping.cn"]
    changes = json.loads(cli("filings", "list", "--kind", "change", "--json").stdout)
    assert [f["id"] for f in changes["items"]] == [change.id]


def _row_of(listed: str, filing_id: int) -> list[str]:
    """The cells of a filing's row in a table for people, found by its id."""
    [row] = [line for line in listed.splitlines() if line.startswith(f"│ {filing_id} ")]
    return [cell.strip() for cell in row.split("│")][1:-1]


def test_list_says_each_orders_kind_as_the_console_does(
    cli: Cli, on_file: FilingOut, open_order: Open
) -> None:
    change = open_order(**order_on("change", on_file.entity_id, on_file.service_id or 0))

    listed = cli("filings", "list").stdout

    assert _row_of(listed, change.id)[2] == "change 变更备案"
    assert _row_of(listed, on_file.id)[2] == "first_filing 首次备案"


def test_list_keeps_each_domain_and_state_whole_on_an_80_column_terminal(
    cramped_cli: Cli, new_filing: MakeFiling
) -> None:
    """Nine columns beside a long domain folded them all: ``shop-on`` / ``line-ex`` …,
    ``service`` / ``_number`` / ``_bound``. Each filing is a record there: its id, domain,
    state and phone on one line, the rest under it."""
    filings = [
        new_filing("service_number_bound", domain="shop-online-example-company.com.cn"),
        new_filing("host_pre_approved", domain="very-long-example-company-name.com.cn"),
    ]

    shown = [line.split() for line in cramped_cli("filings", "list").stdout.splitlines()]

    for filing in filings:
        assert [str(filing.id), filing.domain, filing.state] in [line[:3] for line in shown]


def test_list_names_an_order_on_the_entity_alone_by_the_entity_and_its_number(
    cli: Cli, on_file: FilingOut, open_order: Open
) -> None:
    cancel = open_order(**order_on("cancel_entity", on_file.entity_id, 0))

    [_, named, *_] = _row_of(cli("filings", "list").stdout, cancel.id)

    assert cancel.domain in (None, "")
    assert named == f"{on_file.applicant.name} {cancel.icp_number}"


def test_a_search_text_longer_than_its_column_is_refused_naming_the_option(cli: Cli) -> None:
    result = cli("filings", "list", "--applicant", "a" * 201)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [
        "error: search refused: --applicant: String should have at most 200 characters"
    ]


def test_a_search_text_with_an_invisible_character_is_refused_as_the_api_refuses_it(
    cli: Cli,
) -> None:
    result = cli("entities", "list", "--name", "Exam\u200bple")
    assert result.exit_code == 1 and "--name: control and invisible characters" in result.stderr


def test_the_overdue_lists_first_name_due_lists_the_same_out_of_the_help(
    cli: Cli, new_filing: MakeFiling
) -> None:
    new_filing("submitted")
    due = cli("filings", "due", "--within-hours", "168", "--json")
    overdue = cli("filings", "overdue", "--within-hours", "168", "--json")

    assert (due.exit_code, json.loads(due.stdout)) == (0, json.loads(overdue.stdout))
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["filings", "--help"]).stdout
    assert "│ overdue " in shown and "│ due " not in shown


def test_overdue_refuses_a_province_the_api_refuses(cli: Cli) -> None:
    result = cli("filings", "overdue", "--province", "京\u200b")
    assert result.exit_code == 2 and "control and invisible" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("filings", "list", "--province", "XX"),
        ("filings", "overdue", "--province", "XX"),
        ("ops", "overdue", "--province", "XX"),
        ("rules", "show", "XX"),
    ],
    ids=["list", "overdue", "ops overdue", "rules show"],
)
def test_a_province_the_rules_do_not_know_is_a_usage_error(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert "Invalid value for" in result.stderr and "is not one of" in result.stderr


def test_overdue_lists_what_falls_due_within_the_hours_asked(
    cli: Cli, new_filing: MakeFiling
) -> None:
    filing = new_filing("submitted")  # the host's pre-review is due in 3 working days

    week = json.loads(cli("filings", "overdue", "--within-hours", "168", "--json").stdout)
    late = json.loads(cli("filings", "overdue", "--within-hours", "0", "--json").stdout)

    assert [(i["filing"]["id"], i["deadline"]["kind"]) for i in week["items"]] == [
        (filing.id, "host_review_overdue")
    ]
    assert late["items"] == []


def test_overdue_shows_people_a_table_of_each_filing_and_its_deadline(
    cli: Cli, new_filing: MakeFiling
) -> None:
    new_filing("submitted", domain="pre-review.cn")

    shown = cli("filings", "overdue", "--within-hours", "168")

    assert shown.exit_code == 0, shown.output
    label = DEADLINES_BY_KIND["host_review_overdue"].label
    assert "pre-review.cn" in shown.stdout and label in " ".join(shown.stdout.split())


def test_overdue_says_how_long_each_deadline_is_past_or_how_soon_one_ahead_is_due(
    cli: Cli, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    new_filing("submitted", domain="late.cn")
    clock.advance(timedelta(days=7))  # past the host's 3 working days
    new_filing("submitted", domain="ahead.cn")

    shown = cli("filings", "overdue", "--within-hours", "168").stdout

    [late] = [line for line in shown.splitlines() if "late.cn" in line]
    [ahead] = [line for line in shown.splitlines() if "ahead.cn" in line]
    assert late.split("│")[-2].strip() == "4 d overdue"
    assert ahead.split("│")[-2].strip().startswith("due in ")


def test_overdue_refuses_a_kind_of_deadline_that_makes_nothing_overdue(cli: Cli) -> None:
    refused = cli("filings", "overdue", "--kind", "sms_reminder")

    assert refused.exit_code == 2
    assert "Invalid value for '--kind': 'sms_reminder' is not one of sms_expiry" in refused.stderr


def test_import_names_the_filings_it_opened(cli: Cli, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "filings.csv", list(IMPORT_COLUMNS), [row()])

    result = cli("filings", "import", str(path))

    assert result.exit_code == 0, result.output
    [filing] = json.loads(cli("filings", "list", "--json").stdout)["items"]
    assert f"imported 1 filing (ids {filing['id']}), refused 0 rows" in result.stdout


def other_rows(*numbers: int, **overrides: str) -> list[list[str]]:
    """A valid row per number, each of its own organisation and domain."""
    rows = []
    for n in numbers:
        applicant = another_organisation(n)
        rows.append(
            row(
                domain=f"site{n}.cn",
                id_number=str(applicant["id_number"]),
                phone=str(applicant["phone"]),
                **overrides,
            )
        )
    return rows


def test_an_import_run_again_reports_the_rows_it_imported_and_exits_0(
    cli: Cli, tmp_path: Path
) -> None:
    """A run stopped halfway is finished by running it again: the rows it imported are not
    refused as their entities' orders in flight."""
    header = list(IMPORT_COLUMNS)
    first = json.loads(
        cli("filings", "import", str(write_csv(tmp_path / "a.csv", header, other_rows(1, 2))),
            "--json").stdout
    )  # fmt: skip
    path = write_csv(tmp_path / "filings.csv", header, other_rows(1, 2, 3))

    again = cli("filings", "import", str(path), "--json")

    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["already_imported"] == [
        {"line": 2, "filing": first["imported"][0], "state": "domain_registered"},
        {"line": 3, "filing": first["imported"][1], "state": "domain_registered"},
    ]
    assert (len(report["imported"]), report["errors"]) == (1, [])
    assert json.loads(cli("filings", "list", "--json").stdout)["total"] == 3


def test_an_import_run_again_by_someone_else_carries_it_on(cli: Cli, tmp_path: Path) -> None:
    """No one sent the rows' keys: they come from the rows, and are no one's own."""
    header = list(IMPORT_COLUMNS)
    path = write_csv(tmp_path / "filings.csv", header, other_rows(1))
    first = json.loads(cli("filings", "import", str(path), "--actor", "alice", "--json").stdout)

    again = cli("filings", "import", str(path), "--actor", "bob", "--json")

    assert again.exit_code == 0, again.output
    [shown] = json.loads(again.stdout)["already_imported"]
    assert shown["filing"] == first["imported"][0]


def test_rows_already_imported_are_shown_apart_from_those_imported_and_refused(
    cli: Cli, tmp_path: Path
) -> None:
    header = list(IMPORT_COLUMNS)
    cli("filings", "import", str(write_csv(tmp_path / "a.csv", header, other_rows(1))))
    [filing] = json.loads(cli("filings", "list", "--json").stdout)["items"]
    [bad] = other_rows(2)
    bad[IMPORT_COLUMNS.index("phone")] = ""
    path = write_csv(tmp_path / "filings.csv", header, [*other_rows(1), bad])

    again = cli("filings", "import", str(path))

    assert again.exit_code == 1
    assert re.search(rf"│\s+2\s+│\s+{filing['id']}\s+│", again.stdout), again.stdout
    assert "imported 0 filings, 1 row already imported, refused 1 row" in again.stdout
    assert error_lines(again.stderr) == [
        "error: 1 of 2 rows refused; the other 0 were imported, 1 already had been"
    ]


def test_a_refused_rows_reasons_name_the_files_columns(cli: Cli, tmp_path: Path) -> None:
    [bad] = other_rows(1)
    bad[IMPORT_COLUMNS.index("phone")] = "12345"
    path = write_csv(tmp_path / "filings.csv", list(IMPORT_COLUMNS), [bad])

    report = json.loads(cli("filings", "import", str(path), "--json").stdout)

    [refused] = report["errors"]
    assert [r["field"] for r in refused["reasons"]] == ["phone"]


def test_a_row_whose_filing_was_withdrawn_since_is_shown_withdrawn_when_imported_again(
    cli: Cli, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "filings.csv", list(IMPORT_COLUMNS), other_rows(1))
    [filing] = json.loads(cli("filings", "import", str(path), "--json").stdout)["imported"]
    cli("filings", "fire", str(filing), "withdraw", "--reason", "client left")

    again = cli("filings", "import", str(path))

    assert again.exit_code == 0, again.output
    assert re.search(rf"│\s+2\s+│\s+{filing}\s+│\s+withdrawn\s+│", again.stdout), again.stdout
    assert "is filed again by `icpflow filings create`" in again.stdout


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_import_stopped_by_a_signal_finishes_its_row_names_it_and_a_run_again_finishes_it(
    cli: Cli, db: Database, tmp_path: Path, signum: signal.Signals
) -> None:
    rows = 20
    expires = expiry_on_the_real_clock()  # the import runs in a process of its own
    path = write_csv(
        tmp_path / "filings.csv",
        list(IMPORT_COLUMNS),
        other_rows(*range(rows), domain_expires_on=expires),
    )

    def opened() -> list[int]:
        with Session(db.engine) as session:
            return sorted(filing.id or 0 for filing in session.exec(select(Filing)))

    with writes_held(db) as reached:  # the first row waits on them: the signal comes mid-row
        importing = subprocess.Popen(
            [sys.executable, "-m", "cli", "filings", "import", str(path), "--json"],
            cwd=Path(__file__).parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        reached(importing.pid)
        importing.send_signal(signum)
    out, err = importing.communicate(timeout=60)

    assert importing.returncode == 128 + signum, err
    stopped = json.loads(out)
    assert stopped["imported"] == opened()
    assert len(stopped["imported"]) == 1
    assert stopped["interrupted"] == signum.name
    assert stopped["not_tried"] == rows - 1
    assert error_lines(err) == [
        f"error: stopped by {signum.name}: {rows - 1} rows not tried; "
        "run the same import again to carry on"
    ]

    again = cli("filings", "import", str(path), "--json")

    assert again.exit_code == 0, again.output
    finished = json.loads(again.stdout)
    assert [a["filing"] for a in finished["already_imported"]] == stopped["imported"]
    assert len(finished["imported"]) == rows - 1
    assert len(opened()) == rows


def test_a_missing_reason_is_named_by_its_option_not_by_the_apis_path(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = cli("filings", "fire", str(created["id"]), "withdraw")
    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        ["error: bad data for 'withdraw': --reason is required"],
    )


def test_a_reason_given_to_an_event_that_takes_none_is_refused_naming_the_option(
    cli: Cli, created: dict[str, Any]
) -> None:
    result = cli("filings", "fire", str(created["id"]), "bind_service_number", "--reason", "x")

    said = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2
    assert "--reason: bind_service_number takes no reason (it takes: service_number," in said


def test_a_filing_is_assigned_and_given_back_to_nobody_with_each_step_recorded(
    cli: Cli, created: dict[str, Any], session: Session
) -> None:
    create_token(session, "alice", Role.CASE_MANAGER)
    filing = str(created["id"])
    given = cli("filings", "assign", filing, "alice", "--actor", "lead", "--json")
    assert given.exit_code == 0, given.output
    assert json.loads(given.stdout)["assignee"] == "alice"
    assert cli("filings", "assign", filing, "--actor", "lead").exit_code == 0

    listed = json.loads(cli("filings", "assignments", filing, "--json").stdout)
    assert [(a["assignee"], a["previous"], a["actor"]) for a in listed] == [
        ("alice", None, "lead"),
        (None, "alice", "lead"),
    ]


def test_show_and_assign_tables_name_the_assignee_as_json_does(
    cli: Cli, created: dict[str, Any], session: Session
) -> None:
    create_token(session, "alice", Role.CASE_MANAGER)
    filing = str(created["id"])

    assert re.search(r"│ assignee\s+│ nobody\s+│", cli("filings", "show", filing).stdout)
    given = cli("filings", "assign", filing, "alice")
    shown = cli("filings", "show", filing)

    assert given.exit_code == 0, given.output
    assert re.search(r"│ assignee\s+│ alice\s+│", given.stdout), given.stdout
    assert re.search(r"│ assignee\s+│ alice\s+│", shown.stdout), shown.stdout


def test_assigning_someone_who_cannot_work_on_filings_exits_1_naming_them(
    cli: Cli, created: dict[str, Any]
) -> None:
    refused = cli("filings", "assign", str(created["id"]), "mallory")
    assert refused.exit_code == 1
    assert "'mallory' cannot be assigned" in refused.output


def test_the_import_help_names_every_column_on_a_narrow_terminal() -> None:
    shown = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["filings", "import", "--help"])
    assert [c for c in IMPORT_COLUMNS if c not in shown.stdout] == []


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        (["orders", "create"], list(OrderKind)),
        (["diagram"], list(OrderKind)),
        (["filings", "list"], [*State, *OrderKind, *FilingSort]),  # ops stuck|overdue's too
        (["filings", "overdue"], list(State)),
        (["ops", "failed"], list(Job)),
    ],
)
def test_an_options_choices_are_named_whole_in_its_help_on_a_narrow_terminal(
    command: list[str], choices: list[str]
) -> None:
    shown = CliRunner(env={"COLUMNS": "100"}).invoke(app, [*command, "--help"]).stdout
    named = set(re.findall(r"\w+", shown))
    assert [choice for choice in choices if choice not in named] == []


def test_show_json_is_the_api_s_filing_and_its_help_says_where_forecast_and_duties_are(
    cli: Cli, new_filing: MakeFiling
) -> None:
    """The table adds an open order's forecast; --json keeps GET /filings/{id}'s shape."""
    filing = str(new_filing("miit_pending").id)
    shown = cli("filings", "show", filing)
    forecast = cli("filings", "forecast", filing, "--json")

    assert "forecast" in shown.stdout.lower() and forecast.exit_code == 0
    assert "forecast" not in json.loads(cli("filings", "show", filing, "--json").stdout)
    helped = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["filings", "show", "--help"])
    said = " ".join(helped.stdout.split())
    assert "filings forecast ID --json gives the forecast" in said
    assert "services obligations SERVICE --json the duties" in said


def test_notifications_shows_what_the_filing_owed_as_the_api_does(
    cli: Cli, session: Session, retrying_delivery: Notification
) -> None:
    result = cli("filings", "notifications", str(retrying_delivery.filing_id), "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        n.model_dump(mode="json")
        for n in history.notifications(session, retrying_delivery.filing_id, get_settings())
    ]


def test_notifications_tells_people_a_delivery_s_attempts_and_last_error(
    cli: Cli, retrying_delivery: Notification
) -> None:
    result = cli("filings", "notifications", str(retrying_delivery.filing_id))

    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "webhook:" in line]
    assert [cell.strip() for cell in row.split("│")][3:5] == ["pending", "4 (4 of 11)"]
    assert "webhook answered HTTP 501" in " ".join(result.stdout.split())


def test_notifications_shows_every_column_on_a_100_column_terminal(
    narrow_cli: Cli, retrying_delivery: Notification
) -> None:
    """Every line was cut at column 100: "delivered" and "error", the last error ops look
    for, were not shown."""
    result = narrow_cli("filings", "notifications", str(retrying_delivery.filing_id))

    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all(line.rstrip()[-1] in "┓┃┩│┘" for line in table)
    assert "501" in result.stdout


def test_notifications_keeps_each_notice_and_status_whole_on_a_100_column_terminal(
    narrow_cli: Cli, retrying_delivery: Notification
) -> None:
    """Ten columns left each notice's kind folded mid-word ("host_re / turn")."""
    result = narrow_cli("filings", "notifications", str(retrying_delivery.filing_id))

    [row] = [line for line in result.stdout.splitlines() if "webhook:" in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert (cells[1], cells[3]) == (retrying_delivery.kind, "pending"), result.stdout


def test_notifications_keeps_each_recipient_s_address_whole_on_an_80_column_terminal(
    cramped_cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """The "to" column folded an e-mail address mid-word (``compliance-team.bei`` /
    ``jing@example-…``): an address ops must read to fix a delivery."""
    filing = new_filing("withdrawn")  # withdrawing notifies the case managers
    notification = session.exec(select(Notification)).first()
    assert notification is not None
    address = "compliance-team.beijing@example-company.com.cn"
    notification.channel, notification.recipient = "email", address
    session.commit()

    shown = cramped_cli("filings", "notifications", str(filing.id)).stdout

    assert address in shown.split(), shown


def test_history_keeps_event_and_state_names_whole_on_a_100_column_terminal(
    narrow_cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """A table folded them mid-word ("service_num / ber_bound"): unreadable, and nothing to
    copy into `filings fire`. Each transition heads its paragraph, its states on its line."""
    filing = new_filing("submitted")
    returned = EventCommand(event="host_return", data={"reason": "幕布照片模糊, retake it"})
    service.fire_event(session, filing.id, returned, actor="alice")
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = narrow_cli("filings", "history", str(filing.id)).stdout.splitlines()

    assert "v2  bind_service_number  domain_registered → service_number_bound" in shown, shown
    assert "v4  host_return  submitted → host_returned" in shown, shown


def test_history_gives_when_who_reason_and_data_under_each_transition_one_a_line(
    narrow_cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """In table columns a 100-column terminal folded data mid-key: ``business_lic`` /
    ``ence_copy``, ``service_numb`` / ``er:``."""
    filing = new_filing("submitted")
    returned = EventCommand(event="host_return", data={"reason": "backdrop photo unclear"})
    service.fire_event(session, filing.id, returned, actor="alice")
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = [
        line.rstrip()
        for line in narrow_cli("filings", "history", str(filing.id)).stdout.splitlines()
    ]

    returned_at = shown.index("v4  host_return  submitted → host_returned")
    assert shown[returned_at + 1].endswith(" Beijing by alice"), shown
    assert shown[returned_at + 2] == "    reason: backdrop photo unclear", shown
    assert any(line.startswith("    service_number: BA") for line in shown), shown
    materials = next(line for line in shown if line.startswith("    materials: "))
    assert "business_licence_copy," in materials.split(), shown


def test_history_says_a_transitions_reason_once(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """It stood in its reason column and again in its data column, as the history keeps it."""
    filing = new_filing("submitted")
    returned = EventCommand(event="host_return", data={"reason": "backdrop photo unclear"})
    service.fire_event(session, filing.id, returned, actor="alice")
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = cli("filings", "history", str(filing.id)).stdout

    assert shown.count("backdrop photo unclear") == 1, shown


def test_notifications_tells_people_a_delivery_s_run_as_ops_retrying_does(
    cli: Cli, retrying_delivery: Notification
) -> None:
    result = cli("filings", "notifications", str(retrying_delivery.filing_id))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if "webhook:" in line)
    [tries, run] = ([cell.strip() for cell in line.split("│")] for line in lines[row : row + 2])
    assert tries[4:6] == ["4 (4 of 11)", "since 2026-03-02 10:00 Beijing"]
    assert run[5] == "next try 2026-03-02 10:00 Beijing"


def test_show_says_why_a_returned_filing_came_back_its_numbers_masked(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """The console's /mine line, from the reason the return gave."""
    filing = new_filing("submitted")
    phone = session.get_one(Filing, filing.id).applicant_phone
    reason = f"幕布照片模糊, call {phone}"
    returned = EventCommand(event="host_return", data={"reason": reason})
    service.fire_event(session, filing.id, returned, actor="alice")

    shown = cli("filings", "show", str(filing.id)).stdout

    masked = f"{phone[:3]}****{phone[-4:]}"
    said = f"Sent back 退回原因 (Host return 接入商退回): 幕布照片模糊, call {masked}"
    assert said in shown, shown


def test_show_says_why_a_filing_came_back_under_its_summary_before_what_may_happen_next(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    filing = new_filing("rejected")

    shown = cli("filings", "show", str(filing.id)).stdout.splitlines()

    said = next(i for i, line in enumerate(shown) if line.startswith("Sent back 退回原因"))
    assert "allowed events" in shown[said + 1], shown


def test_show_names_the_event_that_sent_back_a_filing_without_a_reason(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """The SMS window closing gives no reason: the line names the event, as /mine does."""
    filing = new_filing("sms_pending")
    service.fire_event(
        session, filing.id, EventCommand(event="expire_sms"), actor=SYSTEM_ACTOR, system=True
    )

    shown = cli("filings", "show", str(filing.id)).stdout

    said = f"Sent back 退回原因 ({EVENTS_BY_NAME['expire_sms'].label})\n"
    assert said in shown, shown


def test_show_json_says_why_a_filing_came_back_as_the_api_does(
    cli: Cli, new_filing: MakeFiling
) -> None:
    filing = new_filing("rejected")

    shown = cli("filings", "show", str(filing.id), "--json")

    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["sent_back"] == {
        "event": "miit_reject",
        "reason": "site name not allowed",
    }


def test_show_says_none_for_an_approved_filings_events_and_deadlines(
    cli: Cli, new_filing: MakeFiling
) -> None:
    """One line each, not a table's empty frame that reads as data missing."""
    filing = new_filing("approved")

    shown = cli("filings", "show", str(filing.id)).stdout.splitlines()

    assert "allowed events: none" in shown and "deadlines: none" in shown, shown


def _deadline_meanings(shown: list[str]) -> dict[str, str]:
    """What the deadlines table of ``filings show`` says each deadline kind means."""
    return {
        cells[1]: cells[6]
        for line in shown
        if len(cells := [cell.strip() for cell in line.split("│")]) > 6 and cells[1]
    }


def test_show_names_an_escalation_listed_with_what_it_comes_ahead_of_as_an_escalation(
    cli: Cli, new_filing: MakeFiling
) -> None:
    """The idle escalation goes to ops before the order lapses: not a reminder of the lapse."""
    filing = new_filing("host_returned")

    shown = cli("filings", "show", str(filing.id)).stdout.splitlines()

    meanings = _deadline_meanings(shown)
    assert meanings["idle_escalation"] == "Escalation to ops ahead of Idle lapse.", shown


def test_show_names_a_reminder_listed_with_what_it_reminds_of_as_its_reminder(
    cli: Cli, new_filing: MakeFiling
) -> None:
    """Waiting on the applicant, the idle reminders do not say again what the lapse listed
    below them means: that is said once, in the lapse's own row."""
    filing = new_filing("host_returned")

    shown = cli("filings", "show", str(filing.id)).stdout.splitlines()

    meanings = _deadline_meanings(shown)
    lapse = DEADLINES_BY_KIND["idle_lapse"]
    assert meanings["idle_reminder"].startswith("Reminder of Idle lapse."), shown
    assert meanings["idle_lapse"].startswith("After 45 days waiting on the applicant"), shown
    assert lapse.source in "\n".join(shown)


def test_verifiers_json_is_what_the_api_lists(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    filing = new_filing("sms_pending")

    result = cli("filings", "verifiers", str(filing.id), "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        v.model_dump(mode="json") for v in history.verifiers(session, filing.id)
    ]


def test_verifiers_of_an_order_rejected_and_resubmitted_wait_for_the_next_rounds_sms(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """Verified before MIIT rejected it: the resubmission's round has no SMS sent yet."""
    filing = new_filing("rejected")
    resubmit = EventCommand(event="resubmit", data={"materials": ORG_MATERIALS})
    service.fire_event(session, filing.id, resubmit, actor="alice")

    result = cli("filings", "verifiers", str(filing.id), "--json")

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(v["window_started_at"], v["wrong_entries"], v["result"]) for v in listed] == [
        (None, 0, "pending")
    ]


def test_verifiers_shows_each_persons_window_wrong_codes_and_result_mobile_masked(
    cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """As the filing page's SMS table: "1 of 5" wrong codes, the result as a page says it."""
    filing = new_filing("sms_pending")
    wrong = EventCommand(event="sms_wrong_entry", data={"verifier": "entity"})
    service.fire_event(session, filing.id, wrong, actor="alice")
    listed = history.verifiers(session, filing.id)
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = cli("filings", "verifiers", str(filing.id)).stdout

    entity = next(v for v in listed if v.role == "entity")
    assert "*" in entity.mobile
    cells = [entity.role.label, entity.name, entity.mobile, None, "1 of 5", entity.result_label]
    row = "│".join(r" [^│]+ Beijing\s+" if c is None else rf" {re.escape(c)}\s+" for c in cells)
    assert re.search(rf"│{row}│", shown), shown


def test_verifiers_keeps_each_mobile_whole_on_an_80_column_terminal(
    cramped_cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """Six columns of equal width folded the masked mobile a case manager reads out to the
    applicant: ``138****800`` / ``0``."""
    applicant = make_payload()["applicant"]
    assert isinstance(applicant, dict)
    applicant |= {"name": "北京示例网络科技有限公司"}
    filing = new_filing("sms_pending", applicant=applicant | {"responsible": "司马相如"})
    listed = history.verifiers(session, filing.id)
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = cramped_cli("filings", "verifiers", str(filing.id)).stdout

    cells = {cell.strip() for line in shown.splitlines() for cell in line.split("│")}
    assert {v.mobile for v in listed} <= cells, shown


def test_show_keeps_each_deadline_kind_whole_on_an_80_column_terminal(
    cramped_cli: Cli, session: Session, new_filing: MakeFiling
) -> None:
    """The deadlines' kinds, the names the rules file and the API give them, were folded:
    ``idle_reminde`` / ``r``; their meanings wrap instead."""
    applicant = make_payload()["applicant"]
    assert isinstance(applicant, dict)
    applicant |= {"name": "北京示例网络科技有限公司"}
    filing = new_filing("host_returned", applicant=applicant)
    session.rollback()  # end the read: on SQLite it holds the lock the command needs

    shown = cramped_cli("filings", "show", str(filing.id)).stdout

    kinds = {
        cells[1]
        for line in shown.splitlines()
        if len(cells := [cell.strip() for cell in line.split("│")]) == 8 and cells[1]
    }
    assert kinds == {d.kind for d in filing.deadlines}, shown
