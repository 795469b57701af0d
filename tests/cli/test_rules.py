"""``icpflow rules``: the rules in force with their sources, and the check of an edited file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workflow.domain import rules as rules_module

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

HUAWEI = (
    "Huawei Cloud, skills/cdi/assist/huawei-cloud-icp-process-guidance/kb/topics/备案管局咨询.md "
    "in github.com/huaweicloud/huaweicloud-skills"
)
PACKAGED = Path(rules_module.__file__).parent / "rules.toml"


def _edited(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """The packaged rules file with each ``(old, new)`` made, saved as an install's own; an
    ``old`` the file no longer holds fails the test rather than check an unedited file."""
    text = PACKAGED.read_text("utf-8")
    for old, new in replacements:
        assert old in text, f"the packaged rules no longer hold {old!r}"
        text = text.replace(old, new)
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_show_prints_shanghai_rules_with_their_sources(cli: Cli) -> None:
    result = cli("rules", "show", "沪")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Rules in force in Shanghai (沪, 上海)")
    assert (
        "provinces.rules.individuals_residency\n  local_id_or_residence_permit\n"
        f'  source: {HUAWEI} (Shanghai "证件地址非本市的个人，需提供本市居住证或临时居住证"'
    ) in result.stdout
    assert (
        f"provinces.rules.min_domain_validity_months\n  3\n  source: {HUAWEI} "
        '("域名有效期通常要求大于3个月（如河北、山西、内蒙古、上海、浙江、贵州）")\n'
    ) in result.stdout


def test_show_leaves_out_other_provinces_rules(cli: Cli) -> None:
    assert "min_age" not in cli("rules", "show", "沪").stdout
    assert "provinces.rules.min_age\n  18 in 冀蒙湘" in cli("rules", "show").stdout


def test_show_names_hunans_limit_on_the_domains_one_order_adds_with_its_source(
    cli: Cli,
) -> None:
    assert (
        f"provinces.rules.max_domains_per_order\n  1\n  source: {HUAWEI} (Hunan, 企业用户-网站信息: "
        '"每次只能备案1个网站/域名")\n'
    ) in cli("rules", "show", "湘").stdout


def test_show_names_what_an_app_brings_and_its_source(cli: Cli) -> None:
    shown = cli("rules", "show").stdout
    assert (
        "service_kinds.app\n  materials: app_authenticity_form, photo_verification, app_icon\n"
        "  source: MIIT, 工信部信管〔2023〕105号"
    ) in shown


def test_show_refuses_an_unknown_province(cli: Cli) -> None:
    result = cli("rules", "show", "港")
    assert result.exit_code == 2
    assert "Invalid value for 'PROVINCE': '港' is not one of 京" in result.stderr


def test_check_accepts_the_packaged_rules(cli: Cli) -> None:
    result = cli("rules", "check", str(PACKAGED))
    assert (result.exit_code, result.stdout) == (0, f"{PACKAGED}: valid\n")


def test_check_reads_a_file_saved_with_a_byte_order_mark(cli: Cli, tmp_path: Path) -> None:
    """As Windows editors save UTF-8 (a JSON file or a CSV import is read the same way)."""
    path = tmp_path / "rules.toml"
    path.write_text(PACKAGED.read_text("utf-8"), encoding="utf-8-sig")

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stdout) == (0, f"{path}: valid\n")


def test_check_names_every_bad_entry(cli: Cli, tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        ("value = 18\n", 'value = "adult"\n'),
        (
            'zh = "金融"\npre_approval_required = true\nextra_materials = []\nsource = ',
            'zh = "金融"\npre_approval_required = true\nextra_materials = []\nnote = ',
        ),
    )
    result = cli("rules", "check", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: 2 problems",
        "  provinces.rules[2]: min_age must be a non-negative integer",
        "  sectors.finance: no source",
    ]


def test_check_refuses_a_per_order_domain_limit_no_order_could_meet(
    cli: Cli, tmp_path: Path
) -> None:
    """An order adds one domain, so a limit of none would refuse every new service."""
    path = _edited(
        tmp_path,
        (
            'rule = "max_domains_per_order"\nvalue = 1\n',
            'rule = "max_domains_per_order"\nvalue = 0\n',
        ),
    )

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stderr.splitlines()[1]) == (
        1,
        "  provinces.rules[7]: max_domains_per_order must be at least 1, the domains an order adds",
    )


def test_check_refuses_a_reservation_an_entity_types_required_suffixes_forbid(
    cli: Cli, tmp_path: Path
) -> None:
    """Public institutions file only .cn or .公益, so letting them file .政务 would do nothing."""
    path = _edited(
        tmp_path,
        (
            'applicant_types = ["government", "organisation"]',
            'applicant_types = ["government", "public_institution", "organisation"]',
        ),
    )

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [
            f"error: {path}: 1 problem",
            "  domains.reserved.政务: public_institution may file only .cn or .公益 "
            "(domains.required.public_institution)",
        ],
    )


def test_check_names_what_replaced_max_domains_per_individual(cli: Cli, tmp_path: Path) -> None:
    """An install's own file of an earlier release is told how to mend it."""
    path = _edited(
        tmp_path,
        ('rule = "max_domains_individual_first_filing"', 'rule = "max_domains_per_individual"'),
    )

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stderr.splitlines()[1]) == (
        1,
        "  provinces.rules[8]: unknown rule 'max_domains_per_individual', replaced by "
        "max_domains_per_order (the domains an entity's order adds) or "
        "max_domains_individual_first_filing (an individual's first filing)",
    )


def test_check_refuses_no_foreign_individuals_when_no_document_is_foreign_nationals(
    cli: Cli, tmp_path: Path
) -> None:
    """Hebei's rule refuses the documents marked so: with none, it would enforce nothing."""
    path = _edited(tmp_path, ("foreign_nationals = true\n", ""))

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [
            f"error: {path}: 1 problem",
            "  provinces.rules: no_foreign_individuals would refuse no one: mark the documents "
            "foreign nationals file with (in applicant_types.individual) foreign_nationals = true",
        ],
    )


def test_check_refuses_a_file_nested_too_deeply_to_read_on_one_line(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("value = " + "[" * 100_000, encoding="utf-8")

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [f"error: {path}: 1 problem", "  nested too deeply to read"],
    )


def test_check_refuses_a_file_that_is_not_utf_8_on_one_line(cli: Cli, tmp_path: Path) -> None:
    """As the same file named by RULES_FILE is refused."""
    path = tmp_path / "rules.toml"
    path.write_bytes(b"\xff\xfe")

    result = cli("rules", "check", str(path))

    assert (result.exit_code, result.stderr.splitlines()) == (
        1,
        [f"error: {path}: 1 problem", "  not UTF-8 text: invalid start byte at byte 0"],
    )
