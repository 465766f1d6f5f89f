"""Where a webhook may be sent: the SSRF guard.

A target URL is resolved once, every address it resolves to is checked, and the delivery connects to the
checked address itself (with the host name kept for TLS and the Host header), so that nothing can change
between the check and the connection (no DNS rebinding window).

Which addresses are refused (always, or unless private targets are allowed) is addresses.py's. Plain http is
refused unless http targets are allowed. IPv4-mapped and other IPv6 spellings of an IPv4 address are checked as
that IPv4 address; numeric host spellings (`2130706433`, `0x7f.1`, `017700000001`) are read
the way the C resolver reads them, so that they are checked as what they really are. An IPv6 zone id
(`[fd00:ec2::254%25eth0]`) is dropped: the address is checked and connected to as itself (a zone only matters for
link-local addresses, which are refused anyway).

A lookup runs on its own thread and the caller stops waiting at its time limit (getaddrinfo has no timeout of its
own). A temporary resolution failure (EAI_AGAIN, or a lookup that outlives its limit) is told apart from a name that
does not exist, so that a delivery can retry the first and fail the second for good.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from signup_hooks.errors import SignupHooksError
from signup_hooks.sending.addresses import NEVER_ALLOWED, AddressClass, IpAddress, classify, is_allowed

__all__ = ["NEVER_ALLOWED", "AddressClass", "classify", "is_allowed"]  # addresses.py's, used through this module too

MAX_ADDRESSES = 16  # of one name's answer, checked and kept
DEFAULT_LOOKUP_SECONDS = 5.0  # how long a caller that names no limit waits for a lookup


class TargetError(SignupHooksError):
    """A target that cannot be used. `reason` is a results.Reason value; the message is safe to show an admin."""

    reason = "invalid_url"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTarget(TargetError):
    reason = "invalid_url"


class BlockedTarget(TargetError):
    reason = "blocked_target"


class UnresolvableTarget(TargetError):
    reason = "dns_failure"


class ResolutionUnavailable(UnresolvableTarget):
    """The name could not be resolved now (the resolver failed or was too slow): another try may succeed."""


@dataclass(frozen=True)
class Policy:
    allow_http: bool = False
    allow_private: bool = False


@dataclass(frozen=True)
class CheckedTarget:
    """A URL whose every address passed the check. Connect to `address`, send `host_header`, verify TLS for `host`."""

    scheme: str
    host: str  # the name from the URL (an IP literal stays a literal), lower-case, no brackets
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # every checked IP address of the host, in the resolver's order: connect to these

    @property
    def address(self) -> str:
        """The first checked address: the one tried first."""
        return self.addresses[0]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_host(host: str) -> IpAddress | None:
    """The IP address a host spelling stands for, or None for a name. Raises InvalidTarget for a broken number.

    An IPv6 zone id, raw (`%eth0`) or percent-encoded as in a URL (`%25eth0`), is dropped: `fd00:ec2::254%eth0` is
    the metadata address, and an address with a zone would otherwise compare unequal to every address we know.
    """
    if ":" in host and "%" in host:
        host = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _looks_numeric(host):
        address = _inet_aton(host)
        if address is None:
            raise InvalidTarget("url has a host that looks like an IP address but is not a valid one")
        return address
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address a name resolves to (module-level so tests can replace it; they have no DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def lookup(host: str, port: int, timeout: float) -> list[str]:
    """`resolve`, waited for at most `timeout` seconds. Raises ResolutionUnavailable when the resolver fails
    temporarily or is too slow, UnresolvableTarget when the name does not resolve."""
    answer: list[list[str]] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            answer.append(resolve(host, port))
        except BaseException as exc:  # handed to the caller, which decides what it means
            error.append(exc)

    # A daemon thread per lookup: one the resolver holds past its limit is left behind, not waited for.
    worker = threading.Thread(target=run, name="dns-lookup", daemon=True)
    worker.start()
    worker.join(max(0.0, timeout))
    if worker.is_alive():
        raise ResolutionUnavailable("the host name of url did not resolve in time")
    if error:
        exc = error[0]
        if isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN:
            raise ResolutionUnavailable("the host name of url could not be resolved for now") from None
        if isinstance(exc, OSError | UnicodeError):
            raise UnresolvableTarget("the host name of url does not resolve") from None
        raise exc
    return answer[0]


def check(url: str, policy: Policy, lookup_timeout: float = DEFAULT_LOOKUP_SECONDS) -> CheckedTarget:
    """Check a URL and pin it to its checked addresses (at send time). A name's lookup waits `lookup_timeout`."""
    checked = _check(url, policy, resolve_names=True, lookup_timeout=lookup_timeout)
    if checked is None:  # cannot happen when names are resolved; kept for the type checker
        raise UnresolvableTarget("the host name of url does not resolve")
    return checked


def check_saved(url: str, policy: Policy, lookup_timeout: float = DEFAULT_LOOKUP_SECONDS) -> None:
    """The same check at save time, except that a name that does not resolve is accepted: the receiver's DNS
    may not exist yet, and every send checks again. An IP literal or a name that resolves is checked fully."""
    _check(url, policy, resolve_names=False, lookup_timeout=lookup_timeout)


def _check(url: str, policy: Policy, *, resolve_names: bool, lookup_timeout: float) -> CheckedTarget | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidTarget("url is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidTarget("url must start with https:// or http://")
    if scheme == "http" and not policy.allow_http:
        raise BlockedTarget("plain http targets are not allowed; use https://")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise InvalidTarget("url must name a host")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"

    literal = parse_host(host)
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        try:
            answers = lookup(host, port, lookup_timeout)
        except UnresolvableTarget:
            if resolve_names:
                raise
            return None
        addresses = []
        for answer in answers[:MAX_ADDRESSES]:
            try:
                address = ipaddress.ip_address(answer.split("%", 1)[0])
            except ValueError:
                continue
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise UnresolvableTarget("the host name of url resolves to no usable address")

    for address in addresses:
        address_class = classify(address)
        if not is_allowed(address_class, policy.allow_private):
            kind = address_class.value.replace("_", "-")
            raise BlockedTarget(f"url points to a {kind} address, which is not allowed")
    name = str(literal) if literal is not None else host
    return CheckedTarget(
        scheme=scheme, host=name, port=port, path=path, addresses=tuple(str(address) for address in addresses)
    )


_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def _looks_numeric(host: str) -> bool:
    return all(_NUMERIC_PART.match(part) for part in host.split("."))


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's reading of a numeric host: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part.startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    value = value << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(value)
