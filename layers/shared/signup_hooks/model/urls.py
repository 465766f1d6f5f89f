"""What the package says about a webhook URL outside a request: its origin (what credentials are bound to), its host
(what a log line may show) and its redacted form (what an answer may show). A chat webhook's path is its credential,
so neither of the last two ever holds the path, the query or a user part."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def redact_url(url: str) -> str:
    """Scheme and host only: Slack, Discord and Teams URLs carry their credentials in the path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if not parts.scheme or not host:
        return "<invalid URL>"
    return f"{parts.scheme}://{host}{port}/…"


def origin_of(url: str | None) -> str | None:
    """`scheme://host:port` with the default port spelled out, or None for a URL without one."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or port is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme.lower()}://{host.lower()}:{port}"


def host_of(url: str) -> str:
    """The host of a URL, for the logs: never its path or query (a chat webhook's credential), nor any userinfo."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""
