"""Domain errors, mapped to HTTP problem responses in one place."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain was broken; `status_code` says how the API reports it."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class PermissionDeniedError(DomainError):
    status_code = 403


class ValidationError(DomainError):
    status_code = 422


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    """A person in a browser on a page route gets an error page; API clients get problem JSON."""
    path = request.url.path
    if path.startswith(("/api/", "/schema", "/health", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _page(status_code: int, message: str) -> Response[Any]:
    from litestar.response import Template

    return Template(
        "error.html", context={"status_code": status_code, "message": message}, status_code=status_code
    )


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if _wants_page(request):
        return _page(exc.status_code, exc.message)
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.message}
    if exc.field:
        body["extra"] = [{"key": exc.field, "message": exc.message}]
    return Response(body, status_code=exc.status_code)


_NAMED_FIELD = re.compile(r"^`([A-Za-z_][\w.\[\]]*)`")


def _name_the_field(extra: Any) -> Any:
    """A body-wide check (a schema's __post_init__) is reported by Litestar under the key `data`; its
    message starts with the field it is about, so the key can say that field instead."""
    if not isinstance(extra, list):
        return extra
    named = []
    for item in extra:
        if isinstance(item, dict) and item.get("key") == "data":
            match = _NAMED_FIELD.match(str(item.get("message", "")))
            if match:
                item = {**item, "key": match.group(1)}
        named.append(item)
    return named


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if _wants_page(request) and exc.status_code >= 400:
        return _page(exc.status_code, str(exc.detail))
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = _name_the_field(exc.extra)
    return Response(body, status_code=exc.status_code, headers=exc.headers)
