"""Requests a stranger can send that no handler should ever see: refused with a 400 naming the problem.

- A JSON body that is not UTF-8, or nested deeper than the decoder's recursion limit, made the decoder
  raise errors Litestar does not expect (a 500). The body is decoded here first, inside a guard for
  exactly those errors; the handler then reads the already-decoded value.
- Query parameter values holding control characters (a NUL first of all, which PostgreSQL refuses in any
  text and answered with a 500 from a search box) are refused, on pages and the API alike.
- Query parameters a route does not declare are refused, as unknown body fields are: a typo in a filter
  (`?contry=AL`) must not silently return everything. Routes that take open-ended parameters (search
  filters named after the index's attributes) opt out with `opt={"open_query": True}` and check the
  names themselves.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.exceptions import ClientException, SerializationException, ValidationException
from litestar.routes import HTTPRoute

from diaspora.platform.core.auth import API_PREFIX

OPEN_QUERY = "open_query"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def reject_undecodable_json(request: Request[Any, Any, Any]) -> None:
    if request.method not in _BODY_METHODS:
        return
    if "json" not in request.headers.get("content-type", "").split(";", 1)[0]:
        return
    try:
        await request.json()
    except UnicodeDecodeError as exc:
        raise ClientException(f"The request body is not valid UTF-8 (byte {exc.start}).") from exc
    except RecursionError as exc:
        raise ClientException("The request body's JSON is nested too deeply.") from exc
    except SerializationException as exc:  # malformed JSON: what the handler would have said, as a 400
        raise ClientException(f"The request body is not valid JSON: {exc}") from exc


def _has_control(value: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in value)


async def reject_control_characters_in_query(request: Request[Any, Any, Any]) -> None:
    for name, value in request.query_params.multi_items():
        if _has_control(name) or _has_control(value):
            raise ValidationException(
                f"The query parameter `{name!r}` holds a control character.",
                extra=[{"key": name, "message": "Control characters are not allowed", "source": "query"}],
            )


def _declared_query_parameters(app: Litestar) -> dict[int, frozenset[str]]:
    declared: dict[int, frozenset[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler, kwargs_model in route.route_handler_map.values():
                names = frozenset(p.field_alias for p in kwargs_model.expected_query_params)
                declared[id(handler)] = names
    return declared


async def reject_unknown_query_parameters(request: Request[Any, Any, Any]) -> None:
    if not request.url.path.startswith(API_PREFIX) or not request.query_params:
        return
    handler = request.route_handler
    if handler.opt.get(OPEN_QUERY):
        return
    state = request.app.state
    if "declared_query_parameters" not in state:
        state["declared_query_parameters"] = _declared_query_parameters(request.app)
    declared = state["declared_query_parameters"].get(id(handler))
    if declared is None:
        return
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        allowed = ", ".join(sorted(declared)) or "none"
        raise ValidationException(
            f"Unknown query parameter `{unknown[0]}` (this endpoint takes: {allowed}).",
            extra=[
                {"key": name, "message": "Unknown query parameter", "source": "query"} for name in unknown
            ],
        )
