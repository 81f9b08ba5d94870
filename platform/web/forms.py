"""Form handling for pages: read a submitted form, validate it with the API's own schemas, and turn
validation errors into messages next to the fields, keeping what the person typed."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec
from litestar import Request

from diaspora.platform.core.errors import DomainError
from diaspora.platform.web.i18n import gettext as _

CSRF_FIELD = "_csrf_token"
T = TypeVar("T")
R = TypeVar("R")
_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED = re.compile(r"^`([A-Za-z_]\w*)`")  # a schema-wide check names its field first


async def form_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Single values as strings, repeated fields (checkboxes) as lists; the CSRF token (checked by the
    middleware already) is left out, so a form shown again does not carry a stale one."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        values = form.getall(key)
        out[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return out


def listed(value: Any) -> list[str]:
    """A group of checkboxes as `form_of` gives it (nothing, one value, or a list) as a list."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def friendly(message: str) -> str:
    if "length >=" in message:
        minimum = message.rsplit(">=", 1)[1].strip(" `")
        return _("Too short: at least %(n)s characters.", n=minimum)
    if "length <=" in message:
        maximum = message.rsplit("<=", 1)[1].strip(" `")
        return _("Too long: at most %(n)s characters.", n=maximum)
    if "Invalid enum value" in message:
        return _("Choose one of the options.")
    if "must match pattern" in message:
        return _("This does not have the expected form.")
    if "Expected `int`" in message:
        return _("Enter a whole number.")
    if "Invalid RFC 3339" in message or "date" in message:
        return _("Enter a date as YYYY-MM-DD.")
    return message


def validate(schema: type[T], data: dict[str, Any]) -> tuple[T | None, dict[str, str]]:
    """The schema instance, or the errors keyed by top-level field (the first one msgspec reports)."""
    try:
        return msgspec.convert(data, schema), {}
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH.search(message) or _NAMED.match(message)
        field = match.group(1).split(".")[0].split("[")[0] if match else "_form"
        return None, {field or "_form": friendly(_PATH.sub("", message))}


def domain_errors(exc: DomainError) -> dict[str, str]:
    return {exc.field or "_form": exc.message}


@dataclass
class Submission(Generic[R]):
    """What became of a submitted form: the service's result, or the messages to show next to the fields."""

    result: R | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


async def submit(schema: type[T], body: dict[str, Any], action: Callable[[T], Awaitable[R]]) -> Submission[R]:
    """The one shape of a page's form post: validate the body with the API's own schema, run the service
    on it, and turn a refusal of either into messages keyed by field. The caller redirects on success
    (303) and shows the form again with the errors otherwise (400), keeping what was typed."""
    data, errors = validate(schema, body)
    if data is None:
        return Submission(errors=errors)
    try:
        return Submission(result=await action(data))
    except DomainError as exc:
        return Submission(errors=domain_errors(exc))
