"""Completes the generated OpenAPI document with what Litestar cannot see from the handlers' signatures.

- Every error a route can return, as problem JSON: 400 (a bad body, query or unknown parameter), 401 (a
  malformed or expired bearer token is refused on every route), 403, 404, 409, 413 and 422 where the
  route's shape allows them (guards, path parameters, a body, a change), 429 where a rate limit applies.
- The search endpoints' parameters, which are named after the index's filterable attributes and so are
  read from `search_config/` (the same files that configure both search back ends).

Done from the routes themselves, so a new route is documented by the same rules, and only when the
document is first asked for: like Litestar's own generation, an app that never serves its schema never
builds it (a process starts faster, and so does each test's app).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute

from diaspora.platform.core.ratelimit import RATE_LIMITED
from diaspora.platform.search.config import IndexConfig
from diaspora.platform.search.query import MAX_PER_PAGE, MAX_QUERY_CHARS

PROBLEM = "Problem"

_REASONS = {
    400: "The request is malformed: a body, query or path value is invalid or unknown (`extra` names it).",
    401: "No valid credentials: log in, or the token is malformed, expired or revoked.",
    403: "The caller's account may not do this (the policy's reason is in `detail`).",
    404: "Not found, or not visible to the caller.",
    409: "The change conflicts with the current state (already answered, not live, full).",
    413: "The request body is larger than the configured limit.",
    422: "The values are well-formed but not acceptable (e.g. an email address that cannot exist).",
    429: "Too many attempts: wait the number of seconds in the Retry-After header.",
}


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["status_code", "detail"],
        properties={
            "status_code": Schema(type=OpenAPIType.INTEGER),
            "detail": text,
            "extra": Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(
                    type=OpenAPIType.OBJECT,
                    properties={"key": text, "message": text, "source": text},
                ),
            ),
        },
    )


def _error_statuses(handler: HTTPRouteHandler, method: str, has_path_params: bool) -> list[int]:
    statuses = [400, 401]
    guarded = bool(handler.resolve_guards())
    if guarded or method != "GET":
        statuses.append(403)
    if guarded or has_path_params:
        statuses.append(404)
    if method != "GET":
        statuses += [409, 413, 422]
    elif not guarded:
        statuses.append(403)  # some public listings refuse options meant for admins
    if handler.opt.get(RATE_LIMITED):
        statuses.append(429)
    return sorted(set(statuses))


def _search_parameters(config: IndexConfig) -> list[Parameter]:
    def query(name: str, schema: Schema, description: str, *, array: bool = False) -> Parameter:
        return Parameter(
            name=name,
            param_in="query",
            required=False,
            schema=Schema(type=OpenAPIType.ARRAY, items=schema) if array else schema,
            description=description,
            explode=True if array else None,
            style="form" if array else None,
        )

    text = Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_QUERY_CHARS)
    parameters = [
        query("q", text, "Words to search for; the last also matches as a prefix. Leave out to browse."),
        query("page", Schema(type=OpenAPIType.INTEGER, minimum=1), "Page, from 1."),
        query(
            "per_page", Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_PER_PAGE), "Hits per page."
        ),
        query(
            "facets",
            Schema(type=OpenAPIType.STRING, enum=sorted(config.filterable)),
            "Attributes to count hits by (repeat, or separate with commas).",
            array=True,
        ),
        query(
            "sort",
            Schema(
                type=OpenAPIType.STRING,
                enum=[f"{name}:{d}" for name in sorted(config.sortable) for d in ("asc", "desc")],
            ),
            "Order of the hits.",
        ),
    ]
    for name in sorted(config.filterable):
        if config.fields[name] == "integer":
            number = Schema(type=OpenAPIType.INTEGER)
            parameters.append(query(f"{name}.gte", number, f"Only hits whose {name} is at least this."))
            parameters.append(query(f"{name}.lte", number, f"Only hits whose {name} is at most this."))
            parameters.append(query(name, number, f"Only hits whose {name} is one of these.", array=True))
        else:
            keyword = Schema(type=OpenAPIType.STRING, min_length=1, max_length=200)
            parameters.append(query(name, keyword, f"Only hits whose {name} is one of these.", array=True))
    return parameters


_COMPLETED = "openapi_completed"


def schema_router(path: str, search_configs: dict[str, IndexConfig]) -> Router:
    """The router Litestar serves the schema and its viewers from (`OpenAPIConfig.openapi_router`): before
    it first answers, the app's document is completed."""

    def complete_first(request: Request[Any, Any, Any]) -> None:
        document(request.app, search_configs)

    return Router(path, route_handlers=[], include_in_schema=False, before_request=complete_first)


def document(app: Litestar, search_configs: dict[str, IndexConfig]) -> OpenAPI:
    """The app's OpenAPI document, completed (once) with the error responses and search parameters."""
    openapi = app.openapi_schema  # built by Litestar on first use, then kept
    if not app.state.get(_COMPLETED):
        _complete(openapi, app, search_configs)
        app.state[_COMPLETED] = True
    return openapi


def _complete(openapi: OpenAPI, app: Litestar, search_configs: dict[str, IndexConfig]) -> None:
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    openapi.components = components
    components.schemas = {**(components.schemas or {}), PROBLEM: _problem_schema()}
    problem = {"application/json": OpenAPIMediaType(schema=Reference(ref=f"#/components/schemas/{PROBLEM}"))}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api"):
            continue
        item = (openapi.paths or {}).get(route.path_format)
        if item is None:
            continue
        for method, (handler, _model) in route.route_handler_map.items():
            operation: Operation | None = getattr(item, method.lower(), None)
            if operation is None:
                continue
            responses: dict[str, Any] = dict(operation.responses or {})
            for status in _error_statuses(handler, method, bool(route.path_parameters)):
                responses.setdefault(
                    str(status), OpenAPIResponse(description=_REASONS[status], content=problem)
                )
            operation.responses = responses
            index = handler.opt.get("search_index")
            if index in search_configs:
                known = {p.name for p in operation.parameters or [] if isinstance(p, Parameter)}
                extra = [p for p in _search_parameters(search_configs[index]) if p.name not in known]
                operation.parameters = [*(operation.parameters or []), *extra]
