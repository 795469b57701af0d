"""GET routes renamed after clients started calling them: the new path is the one documented,
and the first keeps answering the same, marked deprecated, so no script breaks on an upgrade."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def get_renamed(
    router: APIRouter, path: str, first: str, *, summary: str, **route: Any
) -> Callable[[Endpoint], Endpoint]:
    """Serve the decorated endpoint at ``path`` and, deprecated, at ``first``, the path it had
    before, whose summary names the new path."""

    def both(endpoint: Endpoint) -> Endpoint:
        router.get(path, summary=summary, **route)(endpoint)
        router.get(
            first,
            summary=f"{summary} (deprecated path: GET {path})",
            deprecated=True,
            **route,
        )(endpoint)
        return endpoint

    return both
