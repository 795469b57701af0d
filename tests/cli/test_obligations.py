"""``icpflow services ...`` after approval, ``filings show``'s forecast, ``report durations``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cli.main import app
from config.clock import FrozenClock
from config.settings import Settings
from workflow import obligations
from workflow.domain.definition import DEADLINES_BY_KIND
from workflow.obligations import reading
from workflow.schemas import FilingOut
from workflow.sweeps import fire_due_obligations

if TYPE_CHECKING:
    from tests.cli.conftest import Cli
    from tests.databases import Database
    from tests.factories import MakeFiling


def test_a_duty_due_by_the_end_of_its_last_day_reads_as_that_day_at_24_00(
    cli: Cli, on_file: FilingOut
) -> None:
    site = str(on_file.service_id)
    assert cli("services", "go-live", site, "--on", "2026-03-02").exit_code == 0
    duties = json.loads(cli("services", "obligations", site, "--json").stdout)["obligations"]
    [psb] = [o for o in duties if o["kind"] == "psb_filing"]
    assert psb["due_at"] == "2026-04-01T16:00:00Z"  # 2026-04-02 00:00 in Beijing
    shown = cli("services", "obligations", site).stdout
    assert "2026-04-01 24:00 Beijing" in shown and "CST" not in shown


def test_a_go_live_day_is_corrected_only_with_replaces_naming_it(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    clock.advance(timedelta(days=5))
    assert cli("services", "go-live", site, "--on", "2026-03-06").exit_code == 0
    again = cli("services", "go-live", site, "--on", "2026-03-03")
    assert again.exit_code == 1 and "send that day as replaces" in again.stderr
    fixed = cli("services", "go-live", site, "--on", "2026-03-03", "--replaces", "2026-03-06")
    assert fixed.exit_code == 0, fixed.output
    shown = json.loads(cli("services", "obligations", site, "--json").stdout)
    assert shown["live_on"] == "2026-03-03"


def test_a_leaving_is_taken_back_with_retract_naming_its_day(cli: Cli, on_file: FilingOut) -> None:
    site = str(on_file.service_id)
    assert cli("services", "left-host", site, "--on", "2026-03-02").exit_code == 0
    assert cli("services", "left-host", site, "--retract").exit_code == 1  # which day?

    back = cli("services", "left-host", site, "--retract", "--replaces", "2026-03-02", "--json")

    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["left_on"] is None


def test_a_servers_expiry_is_recorded_and_shown(cli: Cli, on_file: FilingOut) -> None:
    site = str(on_file.service_id)
    done = cli("services", "server-renew", site, "--expires-on", "2026-09-30")

    assert done.exit_code == 0, done.output
    assert re.search(r"│ server expires\s+│ 2026-09-30\s+│", done.stdout), done.stdout


def test_a_mistyped_expiry_is_corrected_with_replaces(cli: Cli, on_file: FilingOut) -> None:
    site = str(on_file.service_id)
    assert cli("services", "renew", site, "--expires-on", "2031-06-30").exit_code == 0
    fixed = cli(
        "services", "renew", site, "--expires-on", "2029-06-30", "--replaces", "2031-06-30"
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    shown = json.loads(cli("services", "obligations", site, "--json").stdout)
    assert shown["domain_expires_on"] == "2029-06-30"


def test_a_site_goes_live_and_its_psb_number_closes_the_psb_filing(
    cli: Cli, on_file: FilingOut
) -> None:
    site = str(on_file.service_id)
    assert cli("services", "go-live", site, "--on", "2026-03-02").exit_code == 0
    refused = cli("services", "psb", site, "京公网安备1101号")
    assert refused.exit_code == 1 and "PSB number" in refused.output
    done = cli("services", "psb", site, "京公网安备11010502030143号", "--json")
    assert done.exit_code == 0, done.output
    view: dict[str, Any] = json.loads(done.stdout)
    [psb] = [o for o in view["obligations"] if o["kind"] == "psb_filing"]
    assert psb["status"] == "disarmed" and psb["closed_at"]
    assert "京公网安备11010502030143号" in cli("services", "obligations", site).stdout


def test_a_psb_number_on_file_is_corrected_only_with_replaces(cli: Cli, on_file: FilingOut) -> None:
    site, first, fixed = (
        str(on_file.service_id),
        "京公网安备11010502030143号",
        "京公网安备11010502030144号",
    )
    assert cli("services", "go-live", site, "--on", "2026-03-02").exit_code == 0
    assert cli("services", "psb", site, first).exit_code == 0
    refused = cli("services", "psb", site, fixed)
    assert refused.exit_code == 1 and f"{first!r} on file" in refused.output
    corrected = cli("services", "psb", site, fixed, "--replaces", first, "--json")
    assert json.loads(corrected.stdout)["psb_number"] == fixed


def test_services_duties_names_each_late_service_and_its_filing(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    assert cli("services", "go-live", site, "--on", "2026-03-02").exit_code == 0
    clock.advance(timedelta(days=31))  # the PSB filing was due on the 30th day

    shown = cli("services", "duties")

    assert shown.exit_code == 0, shown.output
    [row] = [line for line in shown.stdout.splitlines() if "psb_filing" in line]
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[2:4] == [site, str(on_file.id)]


def test_a_rectification_is_extended_once(cli: Cli, on_file: FilingOut) -> None:
    site = str(on_file.service_id)
    notice = cli("services", "rectify", site, "--reference", "R-1", "--working-days", "5", "--json")
    [row] = [o for o in json.loads(notice.stdout)["obligations"] if o["kind"] == "rectification"]
    assert cli("services", "extend", str(row["id"]), "--working-days", "7").exit_code == 0
    assert (
        cli("services", "extend", str(row["id"]), "--working-days", "7").exit_code == 0
    )  # a retry
    again = cli("services", "extend", str(row["id"]), "--working-days", "3")
    assert again.exit_code == 1 and "extended once already" in again.output


def test_services_rectify_says_the_id_extend_and_rectified_take(
    cli: Cli, on_file: FilingOut
) -> None:
    site = str(on_file.service_id)
    notice = cli("services", "rectify", site, "--reference", "R-1", "--working-days", "5")
    assert notice.exit_code == 0, notice.output
    listed = json.loads(cli("services", "obligations", site, "--json").stdout)["obligations"]
    [row] = [o for o in listed if o["kind"] == "rectification"]
    assert f"rectification {row['id']} opened, due 2026-" in notice.stdout


def test_an_open_order_is_shown_with_its_forecast(cli: Cli, new_filing: MakeFiling) -> None:
    reviewing = str(new_filing("miit_pending").id)
    shown = cli("filings", "show", reviewing)
    assert shown.exit_code == 0, shown.output
    assert "statutory limit" in shown.stdout
    predicted = json.loads(cli("filings", "forecast", reviewing, "--json").stdout)
    assert predicted["basis"] == "statutory"


def test_a_statutory_forecast_cites_its_rules_source_as_the_filings_page_does(
    cli: Cli, new_filing: MakeFiling
) -> None:
    shown = cli("filings", "forecast", str(new_filing("miit_pending").id)).stdout
    assert f"({DEADLINES_BY_KIND['miit_legal_limit'].source})" in " ".join(shown.split())


def test_an_order_before_the_bureau_with_too_few_orders_is_shown_saying_why_it_has_none(
    cli: Cli, created: dict[str, Any]
) -> None:
    shown = cli("filings", "show", str(created["id"]))
    assert shown.exit_code == 0, shown.output
    assert "forecast: none yet, 0 completed first_filing 首次备案 orders" in shown.stdout
    refused = cli("filings", "forecast", str(created["id"]))
    assert refused.exit_code == 1 and "statutory limit runs only in miit_pending" in refused.stderr


def test_an_order_past_the_bureaus_legal_limit_is_said_past_it_not_to_breach_its_sla(
    cli: Cli, new_filing: MakeFiling, clock: FrozenClock
) -> None:
    """Five weeks with the bureau: its 20 working days have ended, the 6-week SLA
    (``miit_sla_breach``) has not; "breached" would name the SLA."""
    reviewing = new_filing("miit_pending")
    clock.advance(timedelta(weeks=5))

    shown = cli("filings", "forecast", str(reviewing.id)).stdout

    assert re.search(r"after the legal limit\s*│\s*ended already", shown), shown
    assert "breach" not in shown


def test_an_approved_order_is_shown_with_its_services_duties_after_approval(
    cli: Cli, on_file: FilingOut
) -> None:
    site = str(on_file.service_id)
    assert cli("services", "go-live", site, "--on", "2026-03-02").exit_code == 0

    shown = cli("filings", "show", str(on_file.id))

    assert shown.exit_code == 0, shown.output
    assert re.search(r"│\s*psb_filing\s*│\s*2026-04-01 24:00 Beijing", shown.stdout), shown.stdout
    assert "live since" in shown.stdout and "forecast" not in shown.stdout


def test_an_approved_orders_duties_leave_out_footer_checks_made_and_reminders_closed(
    cli: Cli, on_file: FilingOut, clock: FrozenClock, settings: Settings, db: Database
) -> None:
    """As the filing's console page does: the service's own list keeps them all."""
    site = str(on_file.service_id)
    assert cli("services", "go-live", site, "--on", "2026-03-02").exit_code == 0
    for _ in range(2):  # two days of scheduled checks made: the next one open
        fire_due_obligations(db.engine, clock.now(), settings)
        clock.advance(timedelta(days=1))
    assert cli("services", "psb", site, "京公网安备11010502030143号").exit_code == 0

    shown = cli("filings", "show", str(on_file.id)).stdout

    assert len(re.findall(r"│\s*footer_check\s*│", shown)) == 1, shown
    assert "psb_filing_reminder" not in shown and re.search(r"│\s*psb_filing\s*│", shown)
    every = cli("services", "obligations", site).stdout
    assert len(re.findall(r"│\s*footer_check\s*│", every)) == 3
    assert "psb_filing_reminder" in every


def test_a_services_duties_say_its_kind_and_the_day_it_left(cli: Cli, on_file: FilingOut) -> None:
    site = str(on_file.service_id)
    assert cli("services", "left-host", site, "--on", "2026-03-02").exit_code == 0

    shown = cli("services", "obligations", site).stdout

    assert re.search(r"│ kind\s+│ website\s+│", shown), shown
    assert re.search(r"│ left this host\s+│ 2026-03-02\s+│", shown), shown


def test_an_approved_orders_forecast_is_refused_saying_why_once(
    cli: Cli, on_file: FilingOut
) -> None:
    refused = cli("filings", "forecast", str(on_file.id))
    assert refused.exit_code == 1
    [headline] = refused.stderr.splitlines()
    assert headline.startswith("error: no forecast:")


def test_services_duties_says_which_of_how_many_it_shows(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    cli("services", "go-live", site, "--on", "2026-03-02")
    cli("services", "left-host", site, "--on", "2026-03-02")
    clock.advance(timedelta(days=31))  # the PSB filing and the cancel-access order both late

    shown = cli("services", "duties", "--limit", "1", "--offset", "1")

    assert shown.exit_code == 0, shown.output
    assert "2-2 of 2" in shown.stdout


def test_a_page_past_the_last_says_so_and_how_many_there_are(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    cli("services", "go-live", site, "--on", "2026-03-02")
    clock.advance(timedelta(days=31))  # the PSB filing late

    shown = cli("services", "duties", "--offset", "40")

    assert shown.exit_code == 0, shown.output
    assert "past the last page: 1 in all" in shown.stdout


def test_the_durations_report_lists_each_province_and_stage(cli: Cli, on_file: FilingOut) -> None:
    rows = json.loads(cli("reports", "durations", "--json").stdout)
    assert {(r["province"], r["stage"]) for r in rows} >= {("京", "submitted")}
    assert "review times" in cli("reports", "durations").stdout


def _failing_site(cli: Cli, on_file: FilingOut, session: Session, settings: Settings) -> None:
    """The approved filing's site gone live, its footer's first check failed."""
    assert on_file.service_id is not None
    assert cli("services", "go-live", str(on_file.service_id), "--on", "2026-03-02").exit_code == 0
    obligations.record_footer(
        session, on_file.service_id, None, url="http://example.cn/", status_code=200,
        problems=["no number shown"], settings=settings,
    )  # fmt: skip
    session.commit()


def test_services_footer_checks_failing_names_each_failing_site(
    cli: Cli, on_file: FilingOut, session: Session, settings: Settings
) -> None:
    _failing_site(cli, on_file, session, settings)

    [site] = json.loads(cli("services", "footer-checks-failing", "--json").stdout)["items"]

    assert (site["service_id"], site["failures"], site["problems"]) == (
        on_file.service_id,
        1,
        ["no number shown"],
    )


def test_services_footer_checks_failing_says_when_each_site_is_checked_again(
    cli: Cli, on_file: FilingOut, session: Session, settings: Settings, clock: FrozenClock
) -> None:
    _failing_site(cli, on_file, session, settings)

    shown = cli("services", "footer-checks-failing").stdout
    [site] = json.loads(cli("services", "footer-checks-failing", "--json").stdout)["items"]

    assert "next check" in shown and "being made" not in shown
    # The go-live opened its first check, due at once.
    assert site["next_check_at"] == clock.now().isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("old", "new"), [("overdue", "duties"), ("footer-failing", "footer-checks-failing")]
)
def test_the_duties_lists_first_names_list_the_same_out_of_the_help(
    cli: Cli,
    on_file: FilingOut,
    clock: FrozenClock,
    session: Session,
    settings: Settings,
    old: str,
    new: str,
) -> None:
    """Named as the console's /duties page and the API name them; scripts written for the
    first names keep working."""
    _failing_site(cli, on_file, session, settings)
    clock.advance(timedelta(days=31))  # the PSB filing was due on the 30th day

    first, listed = cli("services", old, "--json"), cli("services", new, "--json")

    assert json.loads(listed.stdout)["total"] == 1
    assert (first.exit_code, json.loads(first.stdout)) == (0, json.loads(listed.stdout))
    shown = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["services", "--help"]).stdout
    assert f"│ {new} " in shown and f"│ {old} " not in shown


def test_services_left_host_corrects_a_day_on_file_named_by_replaces(
    cli: Cli, on_file: FilingOut
) -> None:
    site = str(on_file.service_id)
    cli("services", "left-host", site, "--on", "2026-03-02")

    corrected = cli(
        "services", "left-host", site, "--on", "2026-03-02", "--replaces", "2026-03-02", "--json"
    )

    assert corrected.exit_code == 0, corrected.output
    assert json.loads(corrected.stdout)["left_on"] == "2026-03-02"


def test_services_rectify_takes_the_day_the_notice_was_received(
    cli: Cli, on_file: FilingOut
) -> None:
    recorded = cli(
        "services", "rectify", str(on_file.service_id), "--reference", "一号",
        "--working-days", "5", "--received-on", "2026-03-02", "--json",
    )  # fmt: skip

    assert recorded.exit_code == 0, recorded.output
    [notice] = [
        o for o in json.loads(recorded.stdout)["obligations"] if o["kind"] == "rectification"
    ]
    assert notice["data"]["received_on"] == "2026-03-02"


def test_services_duties_help_offers_only_the_kinds_that_can_be_overdue(cli: Cli) -> None:
    """A footer check is never overdue (the command refuses it): its failures have a list of
    their own."""
    shown = " ".join(cli("services", "duties", "--help").stdout.replace("│", " ").split())

    assert "psb_filing, domain_expired, server_expired, cancel_access, rectification." in shown
    assert "footer_check" not in shown


def test_services_duties_keeps_one_kind_of_duty(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    cli("services", "go-live", site, "--on", "2026-03-02")
    cli("services", "left-host", site, "--on", "2026-03-02")
    clock.advance(timedelta(days=31))

    shown = json.loads(cli("services", "duties", "--kind", "cancel_access", "--json").stdout)

    assert [o["kind"] for o in shown["items"]] == ["cancel_access"]


def test_a_record_keeps_the_cli_actor_and_its_time(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    number = "京公网安备11010502030143号"
    done = cli("services", "psb", site, number, "--actor", "zhang.wei")
    assert done.exit_code == 0, done.output

    [entry] = json.loads(cli("services", "obligations", site, "--json").stdout)["recorded"]
    assert (entry["what"], entry["actor"], entry["data"]["psb_number"]) == (
        "psb_number",
        "zhang.wei",
        number,
    )
    assert entry["at"] == clock.now().isoformat().replace("+00:00", "Z")


def test_a_services_obligations_show_who_recorded_what(cli: Cli, on_file: FilingOut) -> None:
    site = str(on_file.service_id)
    cli("services", "psb", site, "京公网安备11010502030143号", "--actor", "zhang.wei")

    shown = cli("services", "obligations", site).stdout

    assert re.search(r"recorded.*PSB number 公安备案号\s*│ zhang\.wei", shown, re.S), shown


def test_a_services_whole_audit_trail_is_listed_a_page_at_a_time_newest_first(
    cli: Cli, on_file: FilingOut, clock: FrozenClock
) -> None:
    site = str(on_file.service_id)
    for year in (2030, 2031, 2032):
        clock.advance(timedelta(hours=1))
        assert cli("services", "renew", site, "--expires-on", f"{year}-06-30").exit_code == 0

    page = json.loads(cli("services", "recorded", site, "--limit", "2", "--json").stdout)
    shown = cli("services", "recorded", site, "--limit", "2", "--offset", "2")

    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [e["data"]["expires_on"] for e in page["items"]] == ["2032-06-30", "2031-06-30"]
    assert shown.exit_code == 0, shown.output
    assert re.search(r"recorded.*Domain renewal.*2030-06-30", shown.stdout, re.S), shown.stdout
    assert "2031-06-30" not in shown.stdout and "3-3 of 3" in shown.stdout


def test_the_audit_trail_of_a_service_not_on_file_says_so(cli: Cli) -> None:
    result = cli("services", "recorded", "999999")

    assert result.exit_code == 1
    assert "service 999999 does not exist" in result.stderr


def test_a_services_obligations_point_to_its_trail_only_when_they_show_part_of_it(
    cli: Cli, on_file: FilingOut, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = str(on_file.service_id)
    monkeypatch.setattr(reading, "AUDIT_SHOWN", 2)
    cli("services", "renew", site, "--expires-on", "2030-06-30")
    cli("services", "renew", site, "--expires-on", "2031-06-30")
    trail = f"icpflow services recorded {site}"
    assert trail not in cli("services", "obligations", site).stdout

    cli("services", "renew", site, "--expires-on", "2032-06-30")

    assert f"latest 2 of 3: {trail}" in cli("services", "obligations", site).stdout
