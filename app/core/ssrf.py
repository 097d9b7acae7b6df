"""Refusing webhook targets inside our network (server-side request forgery).

A URL is unsafe unless every address it can reach is globally routable. "Every
address" is read the way the HTTP client will read it, in every spelling:

- the URL is parsed by httpx, the parser of the client that will connect, so the two
  can never disagree about which host a URL names (`http://a\\@127.0.0.1`-style tricks);
  a URL with credentials in it is refused outright;
- IPv4 written the way only C parsers accept it (`2130706433`, `0177.0.0.1`, `0x7f.1`,
  `127.1`) is read as those parsers read it, because a name that looks like that is
  handed to `getaddrinfo`, which reads it the same way;
- an IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, compatible
  `::a.b.c.d`, translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
  `2002:AABB:CCDD::`, Teredo) is judged by the IPv4 address inside it too, since a
  gateway on the path may deliver it there; the local-use NAT64 prefix `64:ff9b:1::/48`
  and any address with a zone (`%eth0`) are never public;
- a name is resolved and every address it resolves to must be public.

Ports are restricted too: only those listed (80 and 443 by default), so a public host's
other services (an admin port, a database) are not reachable through us.

The check runs at registration and again right before each delivery, after DNS. A name
could still be re-pointed between the check and the connection; deployments that need
that closed route outbound traffic through an egress proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Collection

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$", re.IGNORECASE)
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal")
# IPv6 prefixes whose last 32 bits are an IPv4 address that the packet is really for.
_IPV4_CARRIERS = (
    ipaddress.IPv6Network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, still routed by some stacks)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix
)
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


class UnsafeTargetError(Exception):
    """The URL points, or may point, inside the network."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def literal_address(host: str) -> IPAddress | None:
    """The address a host names directly, in any spelling an HTTP client accepts; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address that `address` carries, by any transition mechanism."""
    found: list[ipaddress.IPv4Address] = []
    if any(address in carrier for carrier in _IPV4_CARRIERS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # the server and the (de-obfuscated) client
    return found


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None or address in _NAT64_LOCAL_USE:
            return False
        carried = embedded_ipv4(address)
        if any(not is_public(inner) for inner in carried):
            return False
        if any(address in carrier for carrier in _IPV4_CARRIERS):
            return True  # only a wrapper: the IPv4 address inside decided
    return address.is_global and not address.is_multicast


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UnsafeTargetError("the URL cannot be parsed") from exc
    if parsed.scheme not in DEFAULT_PORTS:
        raise UnsafeTargetError("only http and https URLs can be called")
    if parsed.userinfo:
        # Credentials have no place in a webhook URL (deliveries are signed), and the
        # `user@host` syntax is where parsers disagree about the host.
        raise UnsafeTargetError("the URL carries credentials")
    return parsed


async def check_target(url: str, resolver: Resolver, *, allowed_ports: Collection[int]) -> None:
    """Raise UnsafeTargetError unless `url` uses an allowed port and every address it can reach is public."""
    parsed = _parse(url)
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    if port not in allowed_ports:
        raise UnsafeTargetError(f"port {port} is not allowed")
    host = parsed.host.rstrip(".").lower()
    if not host:
        raise UnsafeTargetError("the URL has no host")
    if "%" in host:
        raise UnsafeTargetError(f"{host} is not a plain host")  # an IPv6 zone id, or a percent-encoded name
    if host == "localhost" or host.endswith(_LOCAL_NAMES):
        raise UnsafeTargetError(f"{host} is a local name")
    literal = literal_address(host)
    if literal is not None:
        if not is_public(literal):
            raise UnsafeTargetError(f"{host} is not a public address")
        return
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise UnsafeTargetError(f"{host} does not resolve") from exc
    if not addresses:
        raise UnsafeTargetError(f"{host} does not resolve")
    for text in addresses:
        if not is_public(ipaddress.ip_address(text)):
            raise UnsafeTargetError(f"{host} resolves to a non-public address")
