"""The admin settings page: three static files served from the package, with headers that lock them down.

The page holds no data: it asks for the admin token and calls the admin API with it (Authorization header only),
so its routes need no authorizer. Nothing is inlined or loaded from elsewhere, which is what lets the
Content-Security-Policy forbid everything but this origin's own script, style and API.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

STATIC = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Asset:
    file: str
    content_type: str


ASSETS = {
    "page": Asset("admin.html", "text/html; charset=utf-8"),
    "script": Asset("admin.js", "text/javascript; charset=utf-8"),
    "style": Asset("admin.css", "text/css; charset=utf-8"),
}


@cache
def read(name: str) -> tuple[str, str]:
    """(body, content type) of one asset, read once per execution environment."""
    asset = ASSETS[name]
    return (STATIC / asset.file).read_text(encoding="utf-8"), asset.content_type


def response(name: str) -> Response[str]:
    body, content_type = read(name)
    return Response(status_code=200, content_type=content_type, body=body, headers=dict(HEADERS))
