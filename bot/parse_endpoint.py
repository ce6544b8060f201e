"""`POST /model/parse`: the NLU over HTTP, in Rasa's parse shape — the server's hot path.

The answer is made by bot/fastpath.py in front of the router: the body is validated straight
from its JSON bytes and the answer written directly. The same function backs a documented
route, so the endpoint is in the OpenAPI schema and works without the middleware.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import orjson
from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bot.fastpath import FastAnswer
from bot.http import MAX_REPORTED_ERRORS, runtime_of, safe_error
from bot.inputs import valid_text

if TYPE_CHECKING:
    from bot.runtime import Runtime

PATH = "/model/parse"


class ParseRequest(BaseModel):
    text: str = Field(max_length=20_000)
    language: str | None = Field(default=None, max_length=16, description="Known language (hint)")


# declared for the docs: the endpoint reads its body itself
REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": ParseRequest.model_json_schema()}},
}


_FIELDS = frozenset(ParseRequest.model_fields)


async def answer(runtime: Runtime, body: bytes) -> tuple[int, bytes]:
    """(status, JSON bytes): the parse, or a 422 in FastAPI's error shape without the input."""
    try:
        request = ParseRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            safe_error({**error, "loc": ["body", *error["loc"]]}, _FIELDS)
            for error in exc.errors(include_url=False)[:MAX_REPORTED_ERRORS]
        ]
        return 422, json.dumps({"detail": errors}).encode()
    # a lone surrogate ("\ud800" in the JSON) cannot be written back as UTF-8
    result = await runtime.nlu.parse(valid_text(request.text), request.language)
    return 200, orjson.dumps(result.to_rasa_dict())  # UTF-8, like json.dumps(ensure_ascii=False)


async def parse_route(request: Request) -> Response:
    """Rasa's parse answer for one text, plus its language."""
    status, payload = await answer(runtime_of(request), await request.body())
    return Response(payload, status_code=status, media_type="application/json")


async def fast_parse(runtime: Runtime, body: bytes, content_type: bytes) -> FastAnswer:
    """The route's work for bot/fastpath.py (any content type, as the route reads its body)."""
    status, payload = await answer(runtime, body)
    return FastAnswer(status, payload)
