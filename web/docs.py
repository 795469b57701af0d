"""The API documentation, served offline: Swagger UI and ReDoc from the ``fastapi-offline``
package's copies instead of a CDN (unreachable offline, unreliable inside mainland China).

FastAPI's own pages start with an inline script; these pages load only files of this site
(the UI's bundle and a small start-up script of ours), so their Content-Security-Policy
allows this origin alone (see ``web.security``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from web.templating import render

DOCS, REDOC, ASSETS = "/docs", "/redoc", "/docs-assets"
PATHS = frozenset({DOCS, REDOC})

router = APIRouter(include_in_schema=False)


@router.get(DOCS, response_class=HTMLResponse)
def swagger_ui(request: Request) -> Response:
    return render(request, "swagger.html", {"assets": ASSETS, "openapi": request.app.openapi_url})


@router.get(REDOC, response_class=HTMLResponse)
def redoc(request: Request) -> Response:
    return render(request, "redoc.html", {"assets": ASSETS, "openapi": request.app.openapi_url})


def install(app: FastAPI) -> None:
    """For an app created with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
    app.include_router(router)
