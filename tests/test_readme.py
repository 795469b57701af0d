"""The README's reference tables list what the code declares: one added to the code and not
to the README fails here, not in a reader's hands."""

from __future__ import annotations

import re

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from config.settings import Settings
from workflow.domain.flat import IMPORT_COLUMNS, OPTIONAL_COLUMNS
from workflow.domain.orders import KINDS


def section(readme: str, heading: str) -> str:
    """The text under ``heading`` (its whole line: ``## Settings``), up to the next heading."""
    return re.split(r"\n#+ ", readme.split(f"\n{heading}\n", 1)[1], maxsplit=1)[0]


def variable(name: str, field: FieldInfo) -> str:
    """The environment variable a setting is read from: its alias, else its name."""
    alias = field.validation_alias
    first = alias.choices[0] if isinstance(alias, AliasChoices) else None
    return first if isinstance(first, str) else name.upper()


def test_the_settings_table_names_every_setting_one_a_name(readme: str) -> None:
    rows = [line for line in section(readme, "## Settings").splitlines() if line.startswith("| `")]
    named = [
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split(" | ")[0])
    ]
    declared = [
        variable(name, field) for name, field in Settings.model_fields.items() if not field.exclude
    ]
    assert sorted(named) == sorted(declared)


def csv_import(readme: str) -> str:
    """The README's paragraph on ``icpflow filings import``."""
    return readme.split("**CSV import.**", 1)[1].split("\n\n", 1)[0]


def test_the_csv_import_lists_every_column_in_their_order(readme: str) -> None:
    columns = csv_import(readme).split("(any order):", 1)[1].split(" — ", 1)[0]
    assert re.findall(r"`(\w+)`", columns) == list(IMPORT_COLUMNS)


def test_the_csv_import_names_every_column_a_file_may_leave_out(readme: str) -> None:
    told = re.split(r"\s+came later and may be left out", csv_import(readme), maxsplit=1)[0]
    sentence = told.rsplit(".", 1)[1]
    assert sorted(re.findall(r"`(\w+)`", sentence)) == sorted(OPTIONAL_COLUMNS)


def test_the_order_kinds_table_names_each_kind_as_its_declaration_labels_it(readme: str) -> None:
    rows = re.findall(r"^\| `(\w+)` ([^|]+?) \|", section(readme, "### Order kinds"), re.M)
    assert rows == [(spec.kind.value, spec.label_zh) for spec in KINDS]
