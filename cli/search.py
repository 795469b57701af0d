"""Search options read as the API reads its query parameters: bounded the same way (a NUL, an
invisible character, more than a column holds), and refused naming the option typed."""

from __future__ import annotations

from workflow.domain.commands import SearchText, parse
from workflow.domain.errors import ValidationError, renamed

_SEARCH_OPTIONS = {name: "--" + name.replace("_", "-") for name in SearchText.model_fields}


def search_text(**given: str | None) -> SearchText:
    """The search options given, as ``SearchText`` bounds them."""
    try:
        return parse(
            SearchText, {k: v for k, v in given.items() if v is not None}, "search refused"
        )
    except ValidationError as exc:
        raise renamed(exc, _SEARCH_OPTIONS) from None
