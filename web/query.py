"""Unknown and repeated query parameters are refused, not ignored.

FastAPI drops a query parameter no route declares, so ``?stat=submitted`` (a misspelt
``state``) would answer the unfiltered list as if it were the filtered one; and it keeps the
last of a parameter given twice, so ``?state=submitted&state=sms_pending`` would answer one
state's list to a caller who asked for two. The API's routers depend on
``refuse_unknown_query``, which compares the request's parameters with those the matched
route (and its dependencies, such as the list filters) declares. No route takes several
values of one parameter; one that comes to would have to be exempted here.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from workflow.domain.errors import Reason, ValidationError, summarise


def _declared(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def refuse_unknown_query(request: Request) -> None:
    """422 naming every query parameter the route does not declare or that is given more than
    once. ``async``: it does no I/O, so it runs on the event loop instead of costing a hop to
    the thread pool."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = _declared(route)
    given = request.query_params
    reasons = [
        Reason("unknown_field", f"unknown query parameter {name!r}", field=f"query.{name}")
        if name not in declared
        else Reason(
            "repeated_field",
            f"query parameter {name!r} given {len(given.getlist(name))} times; give it once",
            field=f"query.{name}",
        )
        for name in dict.fromkeys(given)
        if name not in declared or len(given.getlist(name)) > 1
    ]
    if reasons:
        raise ValidationError(summarise("query parameters refused", reasons), reasons)
