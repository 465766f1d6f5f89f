"""The admin settings page: static files served from the package, with headers that lock them down.

The page holds no data: it asks for the admin token and calls the admin API with it (Authorization header only),
so its routes need no authorizer. Nothing is inlined or loaded from elsewhere, which is what lets the
Content-Security-Policy forbid everything but this origin's own script, style and API. The script is native ES
modules: the entry (admin.js) imports the page's sections from static/js/, each served by its file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

STATIC = Path(__file__).resolve().parent / "static"
MODULES = STATIC / "js"
# The only names a module request may ask for: the files shipped, listed once. A name is looked up here,
# never joined to a path first, so "../page.py" or "%2e%2e%2fpage.py" cannot reach any other file.
MODULE_NAMES = frozenset(path.name for path in MODULES.glob("*.js"))
SCRIPT_TYPE = "text/javascript; charset=utf-8"  # what a browser requires of a module script

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
    "script": Asset("admin.js", SCRIPT_TYPE),
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


@cache
def _module(name: str) -> str:
    """A shipped module's text, read once per execution environment (only names of MODULE_NAMES reach it)."""
    return (MODULES / name).read_text(encoding="utf-8")


def module_response(name: str) -> Response[str]:
    """One of the script's modules, or 404 for any name that is not a shipped module."""
    if name not in MODULE_NAMES:
        return Response(
            status_code=404, content_type="text/plain; charset=utf-8", body="Not found", headers=dict(HEADERS)
        )
    return Response(status_code=200, content_type=SCRIPT_TYPE, body=_module(name), headers=dict(HEADERS))
