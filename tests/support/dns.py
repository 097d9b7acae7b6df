"""Answering DNS questions in tests: a fixed table instead of the network (swapped in, never mocked)."""

from __future__ import annotations

from collections.abc import Mapping

from app.core.ssrf import Resolver


def static_resolver(table: Mapping[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"cannot resolve {host}")  # what getaddrinfo raises (socket.gaierror)
        return list(table[host])

    return resolve


PUBLIC_HOSTS = {"hooks.example.com": ["93.184.216.34"], "other.example.com": ["2606:2800:220:1::1"]}
