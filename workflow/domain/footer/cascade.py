"""The cascade: the page's rules matched to its elements (cssselect2, its selectors and their
specificity), within a budget of steps so that a page costly to match fails rather than
stalls the worker, and the value each property the check reads takes on an element."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import Any, SupportsIndex, overload
from xml.etree.ElementTree import Element

import cssselect2

from workflow.domain.footer.hiding import Declared
from workflow.domain.footer.stylesheets import parse_declarations, style_rules

# How much matching the page's rules to its elements may cost, in steps: a selector tried on
# an element, an element built or walked to (an ancestor, a sibling, a descendant of
# ``:has()``), a sibling compared (``:first-of-type``). An 800 KB page of 8,700 elements
# under two frameworks' stylesheets (swagger-ui's and rustdoc's) takes some 750,000, and
# the budget a few seconds; descendant combinators over deep nesting multiply (``x div div
# div div`` over 100 nested divs would take some 80 million, ``x div div div div div`` over
# 100 over a billion, minutes past the worker's time limit). Past this the page is read
# without its style rules (``TooComplex``).
MATCHING_STEPS = 5_000_000
# Building an element for a selector (``:has()`` walks the subtree, ``:nth-last-child`` the
# siblings, each built anew) costs about as much time as this many steps along elements
# already built.
_BUILT = 20


class TooComplex(Exception):
    """The page's rules cost more than ``MATCHING_STEPS`` to match; ``selector`` (and where
    it is written) was being matched when they ran out."""

    def __init__(self, selector: str) -> None:
        super().__init__(selector)
        self.selector = selector


class Budget:
    """The steps left to match one page's rules (``MATCHING_STEPS``), and the selector
    being matched, quoted with the stylesheet it is in, for the result of a page that runs
    out."""

    def __init__(self) -> None:
        self.left = MATCHING_STEPS
        self.matching = ""

    def spend(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise TooComplex(self.matching)

    def counting(self, test: Callable[[Any], bool], selector: str) -> Callable[[Any], bool]:
        """``test``, a compiled selector, each call of it a step."""

        def counted(element: Any) -> bool:
            self.matching = selector
            self.spend()
            return bool(test(element))

        return counted


# What orders two declarations of one property on one element, the winner last: importance,
# then an inline style over any rule, then the rule's selector's specificity, then the order
# they are written in.
_Precedence = tuple[bool, bool, tuple[int, int, int], int, int]


def compiled_rules(
    stylesheets: Iterable[tuple[str, str | None]], budget: Budget
) -> cssselect2.Matcher:
    """Every rule of ``stylesheets`` (each its text and, if linked, its URL), in order, ready
    to match elements, each match a step of ``budget``; a selector the matcher cannot compile
    (a pseudo-class it does not know) is left out, as a browser drops a rule it cannot read."""
    matcher = cssselect2.Matcher()
    for css, sheet in stylesheets:
        for prelude, rule in style_rules(css, sheet):
            try:
                selectors = cssselect2.compile_selector_list(prelude)
            except cssselect2.SelectorError:
                continue
            for selector in selectors:
                quoted = f'"{rule.selector}"{rule.origin}'
                selector.test = budget.counting(selector.test, quoted)
                matcher.add_selector(selector, rule)
    return matcher


def cascaded(
    element: cssselect2.ElementWrapper, matcher: cssselect2.Matcher
) -> dict[str, Declared]:
    """The value the cascade gives each property the page's style sets on ``element``: its
    inline style and the rules whose selectors match it (not those of its pseudo-elements)."""
    tag = element.local_name
    won: dict[str, tuple[_Precedence, Declared]] = {}

    def offer(precedence: _Precedence, name: str, value: str, source: str) -> None:
        if name not in won or won[name][0] <= precedence:
            won[name] = (precedence, Declared(value, source))

    for specificity, order, pseudo, rule in matcher.match(element):
        if pseudo is not None:
            continue
        for at, (name, value, important) in enumerate(rule.declarations):
            where = f"{rule.selector} {{ {name}: {value} }}{rule.origin} on <{tag}>"
            offer((important, False, specificity, order, at), name, value, where)
    inline = element.etree_element.get("style") or ""
    for at, (name, value, important) in enumerate(parse_declarations(inline)):
        offer((important, True, (0, 0, 0), 0, at), name, value, f'<{tag} style="{name}: {value}">')
    return {name: declared for name, (_, declared) in won.items()}


class _Children(list[Element]):
    """An element's children, as cssselect2 keeps them for each child's siblings: reading
    them through (``:only-of-type``) or a slice of them (``:first-of-type`` and
    ``:nth-last-of-type`` compare an element with the siblings before or after it) is a step
    a sibling, so thousands of siblings each compared with thousands run out the budget."""

    def __init__(self, children: Iterable[Element], budget: Budget) -> None:
        super().__init__(children)
        self.budget = budget

    def __iter__(self) -> Iterator[Element]:
        self.budget.spend(len(self))
        return super().__iter__()

    @overload
    def __getitem__(self, index: SupportsIndex) -> Element: ...

    @overload
    def __getitem__(self, index: slice) -> list[Element]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Element | list[Element]:
        if isinstance(index, slice):
            self.budget.spend(len(range(*index.indices(len(self)))))
        return super().__getitem__(index)


# cssselect2 has no annotations: its class is Any to mypy.
class StyledElement(cssselect2.ElementWrapper):  # type: ignore[misc]
    """An element as selectors are matched on it, its ancestors (for a descendant
    combinator) and previous siblings (``~``, ``:nth-child``) walked link by link as a
    selector asks for them. cssselect2 builds each as a tuple from the parent's, or the
    previous sibling's, own, recursively: a rule such as ``.ad footer`` on a page nested a
    thousand deep, or ``.ad ~ p`` after a thousand siblings, would end in
    ``RecursionError``. Each element built or walked to is a step of the page's budget, the
    root's, handed down to every element."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget: Budget = Budget() if self.parent is None else self.parent.budget

    @cached_property
    def etree_children(self) -> _Children:
        return _Children(super().etree_children, self.budget)

    def iter_subtree(self) -> Iterator[StyledElement]:
        return self._built(super().iter_subtree())

    def iter_siblings(self) -> Iterator[StyledElement]:
        return self._built(super().iter_siblings())

    def _built(self, elements: Iterator[StyledElement]) -> Iterator[StyledElement]:
        """``elements``, built for a selector (``:has()``, ``:nth-last-child``), each
        ``_BUILT`` steps."""
        for element in elements:
            self.budget.spend(_BUILT)
            yield element

    # What cssselect2 works out from the parent's own, recursively up to the root (a ``:lang()``
    # selector's language, ``:enabled``'s disabled fieldset): each ancestor's is worked out
    # first, from the top down, so that no element recurses further than its parent.
    @cached_property
    def lang(self) -> str:
        self._ancestors_first("lang")
        return str(super().lang)

    @cached_property
    def in_disabled_fieldset(self) -> bool:
        self._ancestors_first("in_disabled_fieldset")
        return bool(super().in_disabled_fieldset)

    def _ancestors_first(self, name: str) -> None:
        """Work out ``name`` on each ancestor not yet knowing it, the topmost first, each a
        step of the budget."""
        unknown = []
        element = self.parent
        while element is not None and name not in element.__dict__:
            unknown.append(element)
            element = element.parent
        for ancestor in reversed(unknown):
            self.budget.spend()
            getattr(ancestor, name)

    @property
    def ancestors(self) -> Iterator[StyledElement]:
        element = self.parent
        while element is not None:
            self.budget.spend()
            yield element
            element = element.parent

    @property
    def previous_siblings(self) -> Iterator[StyledElement]:
        element = self.previous
        while element is not None:
            self.budget.spend()
            yield element
            element = element.previous
