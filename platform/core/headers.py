"""Security headers on every response, pages, API and errors alike (built with the `secure` package).

- A Content-Security-Policy that runs only the site's own script files (no inline script, no inline event
  handler), never lets another site frame a page, and sends forms only back to this site.
- `nosniff`, a strict referrer policy, same-origin opener and resource policies, no powerful features.
- HSTS when the site is served over HTTPS (`DIASPORA_HSTS`, on in production mode).
- `Cache-Control: no-store` unless a handler chose otherwise: pages and API answers carry personal data,
  and a shared or back-button cache must not keep them. Static files are the exception.

The interactive API documentation under /schema loads its viewer from a CDN with inline bootstrapping; it
gets a looser script policy of its own, and nothing personal is ever served there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar.types import Message, Scope
from secure import (
    ContentSecurityPolicy,
    CrossOriginOpenerPolicy,
    CrossOriginResourcePolicy,
    PermissionsPolicy,
    ReferrerPolicy,
    Secure,
    StrictTransportSecurity,
    XContentTypeOptions,
    XFrameOptions,
)

DOCS_PREFIX = "/schema"
STATIC_PREFIX = "/static/"


def _policies(*, hsts: bool) -> tuple[Secure, Secure]:
    def build(csp: ContentSecurityPolicy) -> Secure:
        return Secure(
            csp=csp,
            hsts=StrictTransportSecurity().max_age(31_536_000).include_subdomains() if hsts else None,
            xfo=XFrameOptions().deny(),
            xcto=XContentTypeOptions().nosniff(),
            referrer=ReferrerPolicy().strict_origin_when_cross_origin(),
            coop=CrossOriginOpenerPolicy().same_origin(),
            corp=CrossOriginResourcePolicy().same_origin(),
            permissions=PermissionsPolicy().geolocation().microphone().camera(),
        )

    site = (
        ContentSecurityPolicy()
        .default_src("'self'")
        .script_src("'self'")
        .script_src_attr("'none'")
        # Inline style attributes only (the bar charts' widths); no inline script anywhere.
        .style_src("'self'", "'unsafe-inline'")
        .img_src("'self'", "data:")
        .connect_src("'self'")
        .object_src("'none'")
        .base_uri("'self'")
        .form_action("'self'")
        .frame_ancestors("'none'")
    )
    docs = (
        ContentSecurityPolicy()
        .default_src("'self'")
        .script_src("'self'", "'unsafe-inline'", "https:")
        .style_src("'self'", "'unsafe-inline'", "https:")
        .img_src("'self'", "data:", "https:")
        .font_src("'self'", "data:", "https:")
        .connect_src("'self'")
        .object_src("'none'")
        .base_uri("'self'")
        .frame_ancestors("'none'")
    )
    return build(site), build(docs)


class SecurityHeaders:
    """A `before_send` hook of the app: it sees every response start, including errors and unknown paths,
    and adds the headers a handler did not set itself."""

    def __init__(self, *, hsts: bool = False) -> None:
        site, docs = _policies(hsts=hsts)
        self.site = _encoded(site.headers.items())
        self.docs = _encoded(docs.headers.items())

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path: str = scope.get("path", "")
        extra = self.docs if path.startswith(DOCS_PREFIX) else self.site
        headers: list[tuple[bytes, bytes]] = message.setdefault("headers", [])  # type: ignore[assignment]
        present = {bytes(name).lower() for name, _ in headers}
        headers.extend((name, value) for name, value in extra if name not in present)
        if not path.startswith(STATIC_PREFIX) and b"cache-control" not in present:
            headers.append((b"cache-control", b"no-store"))


def _encoded(items: Iterable[tuple[str, Any]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), str(value).encode()) for name, value in items if value]
