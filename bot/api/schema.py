"""GET /api/v1/openapi.json: the API's own OpenAPI schema (every /api/v1 route, bearer auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import RouteContext, iter_route_contexts

from bot.access import require_operator

API_PREFIX = "/api/v1"

router = APIRouter(prefix=API_PREFIX)

DESCRIPTION = """\
Everything the operator console does, for scripts and other tools.

Authenticate with an API token: `Authorization: Bearer <token>`. Create one with
`hotline operators token USERNAME --name NAME` or on the console's account page; only its
hash is stored. A token acts with its operator's role (operator, supervisor, admin), with the
same checks as the console. Browser sessions may call the API too; their unsafe requests
need the `X-CSRF-Token` header.
"""


def api_routes(app: Any) -> list[RouteContext]:
    """Every route under /api/v1, with its full path (included routers are resolved lazily)."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if (context.path or "").startswith(API_PREFIX + "/")
    ]


def api_schema(app: Any) -> dict[str, Any]:
    routes = [r for r in api_routes(app) if getattr(r, "include_in_schema", False)]
    schema = get_openapi(
        title="hotline API",
        version="1",
        description=DESCRIPTION,
        routes=routes,
    )
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault("HTTPBearer", {"type": "http", "scheme": "bearer"})
    schema["security"] = [{"HTTPBearer": []}]
    return schema


# signed in only (a console session or an API token): the schema maps every route
@router.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_operator)])
async def openapi(request: Request) -> JSONResponse:
    cached = getattr(request.app.state, "api_schema", None)
    if cached is None:
        cached = api_schema(request.app)
        request.app.state.api_schema = cached
    return JSONResponse(cached)
