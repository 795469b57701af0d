"""``icpflow rules``: the filing rules in force and their sources, and a check for an edited file.

Ops edit ``rules.toml`` when a bureau changes its policy; ``check`` names every bad entry
before the file is pointed at by ``RULES_FILE``, and ``show`` lets a case manager answer
"why was this refused?" with the rule and the page it comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.errors import App, CliError
from cli.output import province_argument
from config.settings import get_settings
from workflow.domain.errors import Reason
from workflow.domain.guards import province_named
from workflow.domain.rules import RulesError, read_rules, rules_for
from workflow.domain.wording import counted

app = App(help="The filing rules in force, with their sources.", no_args_is_help=True)


@app.command()
def show(
    province: Annotated[
        str | None,
        province_argument("A province character or alias (沪, 蜀); all provinces if left out."),
    ] = None,
) -> None:
    """Print the rules in force (for PROVINCE) with the source of each."""
    rules = rules_for(get_settings())
    char = None
    if province is not None:
        char = province_named(province, rules)
        target = rules.provinces[char]
        typer.echo(f"Rules in force in {target.name_en} ({char}, {target.name_zh})")
    else:
        typer.echo("Rules in force in every province")
    for rule in rules.in_force(char):
        typer.echo(f"\n{rule.name}\n  {rule.statement}\n  source: {rule.source}")


@app.command()
def check(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="An edited rules.toml.")
    ],
) -> None:
    """Validate an edited rules file, naming every bad entry."""
    try:
        read_rules(file)
    except RulesError as exc:
        raise CliError(
            f"{file}: {counted(len(exc.problems), 'problem')}",
            [Reason("invalid_rule", problem) for problem in exc.problems],
        ) from exc
    typer.echo(f"{file}: valid")
