"""The SSRF guard, spelling by spelling: every way a URL can name an internal address is refused (SPEC §3 Webhooks)."""

from __future__ import annotations

import pytest

from app.core.ssrf import UnsafeTargetError, check_target
from tests.support.dns import static_resolver

WEB_PORTS = (80, 443)
RESOLVER = static_resolver(
    {
        "hooks.example.com": ["93.184.216.34"],
        "v6.example.com": ["2606:2800:220:1::1"],
        "intranet.example.com": ["10.0.0.5"],
        "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
        "mapped.example.com": ["::ffff:169.254.169.254"],
        "nat64.example.com": ["64:ff9b::a9fe:a9fe"],
        "zoned.example.com": ["fe80::1%eth0"],
    }
)

INTERNAL = [
    # IPv4 in every spelling a C parser accepts
    "http://127.0.0.1/",
    "http://127.0.0.1./",
    "http://2130706433/",
    "http://017700000001/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://10.1.2.3/",
    "http://012.1.2.3/",
    "http://167772161/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://0xa9fea9fe/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    # IPv6, and IPv4 carried inside IPv6
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::]/",
    "http://[::127.0.0.1]/",
    "http://[::7f00:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://[::ffff:a00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::a00:1]/",
    "http://[64:ff9b:1::808:808]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2002:c0a8:101::1]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fd00::1]/",
    "http://[fc00::1]/",
    "http://[ff02::1]/",
    # names
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://printer.local/",
    "http://service.internal/",
    "http://intranet.example.com/",
    "http://mixed.example.com/",
    "http://mapped.example.com/",
    "http://nat64.example.com/",
    "http://zoned.example.com/",
    "http://does-not-resolve.example/",
    "http://%31%32%37.0.0.1/",
    # credentials and the parser confusion they invite
    "http://hooks.example.com@127.0.0.1/",
    "http://user:pass@hooks.example.com/",
    "http://127.0.0.1\\@hooks.example.com/",
    "http://127.0.0.1:80@hooks.example.com/",
    # ports other than the allowed ones, on a public host
    "http://hooks.example.com:8080/",
    "https://hooks.example.com:8443/",
    "http://hooks.example.com:22/",
    "http://hooks.example.com:6379/",
    "http://93.184.216.34:5432/",
    "http://[2606:2800:220:1::1]:25/",
    # not http
    "ftp://hooks.example.com/",
    "file:///etc/passwd",
    "gopher://hooks.example.com:70/",
    "http:///nohost",
]

PUBLIC = [
    "https://hooks.example.com/receive",
    "http://hooks.example.com/",
    "http://HOOKS.example.com./",
    "https://hooks.example.com:443/x",
    "http://hooks.example.com:80/x",
    "https://v6.example.com/",
    "https://93.184.216.34/",
    "http://1572395042/",  # 93.184.216.34, written as one number
    "https://[2606:2800:220:1::1]/",
    "https://[::ffff:93.184.216.34]/",  # mapped, and what it carries is public
    "https://[64:ff9b::5db8:d822]/",  # NAT64 to 93.184.216.34
]


@pytest.mark.parametrize("url", INTERNAL)
async def test_every_spelling_of_an_internal_or_disallowed_target_is_refused(url: str) -> None:
    with pytest.raises(UnsafeTargetError):
        await check_target(url, RESOLVER, allowed_ports=WEB_PORTS)


@pytest.mark.parametrize("url", PUBLIC)
async def test_public_targets_on_web_ports_are_accepted(url: str) -> None:
    await check_target(url, RESOLVER, allowed_ports=WEB_PORTS)


async def test_the_allowed_ports_are_a_setting() -> None:
    await check_target("https://hooks.example.com:8443/", RESOLVER, allowed_ports=(443, 8443))
    with pytest.raises(UnsafeTargetError, match="port 443"):
        await check_target("https://hooks.example.com/", RESOLVER, allowed_ports=(8443,))
