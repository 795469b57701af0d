"""The console's templates compare a value with an enum's member, never with its value
quoted: ``n.status == 'failed'`` would go on rendering, silently wrong, once the value is
renamed, where ``n.status == NotificationStatus.FAILED`` names a member this test finds."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from jinja2 import nodes

import web.app  # noqa: F401  (imports every layer a page shows an enum of)
from web.pages import _FORMS_SHOWN
from web.templating import templates

# Where a comparison's other side is an argument, not an operand.
_COMPARING_FILTERS = {"selectattr", "rejectattr", "select", "reject"}


def _enums() -> list[type[StrEnum]]:
    """Every enum icpflow declares: a template has no business spelling any of their values."""
    ours = {"auth", "config", "models", "web", "workflow"}
    return [e for e in StrEnum.__subclasses__() if e.__module__.split(".")[0] in ours]


def _compared(tree: nodes.Template) -> Iterator[nodes.Expr]:
    """What each comparison of a template compares with: both sides of ``==``, ``!=`` and
    ``in``, the items of a literal tuple or list, and the values ``selectattr`` is given."""
    sides: list[nodes.Expr] = []
    for compare in tree.find_all(nodes.Compare):
        sides += [compare.expr, *(op.expr for op in compare.ops)]
    for test in tree.find_all((nodes.Filter, nodes.Test)):
        if isinstance(test, nodes.Test) or test.name in _COMPARING_FILTERS:
            sides += test.args
    for side in sides:
        yield from side.items if isinstance(side, nodes.Tuple | nodes.List) else [side]


def test_templates_compare_with_enum_members_that_are_declared() -> None:
    """A member a template names that its enum no longer declares renders as undefined, as
    silently as a quoted value that changed: both are listed."""
    values: dict[str, list[str]] = {}
    for declared in _enums():
        for m in declared:
            values.setdefault(m.value, []).append(f"{declared.__name__}.{m.name}")
    env = templates.env
    given = {
        name: e for name, e in env.globals.items() if isinstance(e, type) and issubclass(e, StrEnum)
    }
    wrong = []
    for name in env.list_templates(extensions=["html"]):
        source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        tree = env.parse(source, name, filename)
        for side in _compared(tree):
            if isinstance(side, nodes.Const) and side.value in values:
                wrong.append(
                    f"{name}:{side.lineno} {side.value!r}: {' or '.join(values[side.value])}"
                )
        for member in tree.find_all(nodes.Getattr):
            enum = given.get(member.node.name) if isinstance(member.node, nodes.Name) else None
            if enum is not None and member.attr not in enum.__members__:
                wrong.append(f"{name}:{member.lineno} {enum.__name__}.{member.attr} is undeclared")
    assert wrong == []


def test_the_hidden_fields_a_page_adds_to_its_forms_are_named_in_python_not_in_a_template() -> None:
    """The version an event's form was filled in against and the key an order is opened under
    are read by their route under a name declared once (``shown_by(own=...)``); a template
    spelling it would go on rendering, the route then refusing every form, once it is renamed.
    The page hands the template the name with its value instead."""
    own = set().union(*(shown.own for shown in _FORMS_SHOWN.values()))
    assert {"expected_version", "opening_key"} <= own
    env = templates.env
    spelled = []
    for name in env.list_templates(extensions=["html"]):
        source, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        for const in env.parse(source, name, filename).find_all(nodes.Const):
            if const.value in own:
                spelled.append(f"{name}:{const.lineno} {const.value!r}")
    assert spelled == []
