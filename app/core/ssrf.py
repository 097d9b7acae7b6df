"""Refusing webhook targets inside our network (server-side request forgery).

A URL is unsafe when its host is, or resolves to, an address that is not
globally routable: loopback, private, link-local, unique-local, shared,
reserved, multicast, or an IPv4 address wrapped in IPv6. IPv4 written the way
only C parsers accept it (`2130706433`, `0177.0.0.1`, `0x7f.1`) is read the
same way those parsers read it, because that is how the HTTP client would.

The check runs at registration and again right before each delivery, after
DNS. A name could still be re-pointed between the check and the connection;
deployments that need that closed route outbound traffic through an egress proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal")


class UnsafeTargetError(Exception):
    """The URL points, or may point, inside the network."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def literal_address(host: str) -> IPAddress | None:
    """The address a host names directly, in any spelling an HTTP client accepts; None for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return address
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


async def check_target(url: str, resolver: Resolver) -> None:
    """Raise UnsafeTargetError unless every address `url` can reach is public."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeTargetError("the URL has no host")
    if host == "localhost" or host.endswith(_LOCAL_NAMES):
        raise UnsafeTargetError(f"{host} is a local name")
    literal = literal_address(host)
    if literal is not None:
        if not is_public(literal):
            raise UnsafeTargetError(f"{host} is not a public address")
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise UnsafeTargetError(f"{host} does not resolve") from exc
    if not addresses:
        raise UnsafeTargetError(f"{host} does not resolve")
    for text in addresses:
        if not is_public(ipaddress.ip_address(text.split("%", 1)[0])):
            raise UnsafeTargetError(f"{host} resolves to a non-public address")
