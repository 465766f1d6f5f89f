"""What an IP address is, for the SSRF guard (targets.py): its class (public, loopback, private, link-local, metadata,
...) and whether a policy allows it. An IPv4 address inside IPv6 (IPv4-mapped, NAT64, 6to4, Teredo, IPv4-compatible)
is classified as that IPv4 address.

Refused always (NEVER_ALLOWED): link-local (169.254/16, fe80::/10, which hold the cloud metadata services), known
metadata addresses, multicast, reserved, unspecified and broadcast addresses. Refused unless private targets are
allowed: loopback, private (RFC 1918, fc00::/7), shared (100.64/10) and every other non-global range.
"""

from __future__ import annotations

import enum
import ipaddress

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services outside the link-local ranges: refused even when private targets are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS DNS over IPv6 (Nitro)
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud
    )
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.x.x.x to the local host
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class AddressClass(enum.StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    SHARED = "shared"
    NON_GLOBAL = "non_global"
    LINK_LOCAL = "link_local"
    METADATA = "metadata"
    MULTICAST = "multicast"
    RESERVED = "reserved"
    UNSPECIFIED = "unspecified"


# Classes that no setting allows.
NEVER_ALLOWED = frozenset(
    {
        AddressClass.LINK_LOCAL,
        AddressClass.METADATA,
        AddressClass.MULTICAST,
        AddressClass.RESERVED,
        AddressClass.UNSPECIFIED,
    }
)


def classify(address: IpAddress) -> AddressClass:
    """The class of an address. An IPv4 address inside IPv6 (mapped, NAT64, 6to4, Teredo) is classified as itself."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return classify(embedded)
    if address in METADATA_ADDRESSES:
        return AddressClass.METADATA
    if address.is_unspecified or address in THIS_NETWORK:
        return AddressClass.UNSPECIFIED
    if address.is_link_local:
        return AddressClass.LINK_LOCAL
    if address.is_multicast:
        return AddressClass.MULTICAST
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_reserved:  # includes 240/4 and the broadcast address
        return AddressClass.RESERVED
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return AddressClass.SHARED
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return AddressClass.PRIVATE
    if not address.is_global:
        return AddressClass.NON_GLOBAL
    return AddressClass.PUBLIC


def is_allowed(address_class: AddressClass, allow_private: bool) -> bool:
    if address_class is AddressClass.PUBLIC:
        return True
    if address_class in NEVER_ALLOWED:
        return False
    return allow_private


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    # IPv4-compatible (::a.b.c.d, deprecated) other than :: and ::1
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None
