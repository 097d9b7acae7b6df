"""How much memory does one webhook attempt cost when the receiver answers with a huge body?

    uv run python -m bench.webhook_reply_memory [--megabytes 1536]

A receiver in this process answers every POST with 200 and `--megabytes` of body. Each
variant runs in a fresh child process (peak RSS is per process), which builds the worker's
HTTP client and makes one attempt against it:

- `buffered`: `http.post(...)`, reading the whole reply, as deliveries were sent before;
- `streamed`: `webhook_delivery.send(...)`, which keeps a prefix and hangs up.

Prints each child's VmRSS before the attempt, its peak RSS after, and the attempt's seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid

from app.core.config import Settings, WebhookSettings
from app.core.ssrf import system_resolver
from app.models.webhook import Webhook, WebhookDelivery
from app.resources import create_http_client
from app.services import webhook_delivery
from bench.common import rss_mb

CHUNK = b"x" * 65_536


async def serve(megabytes: int) -> asyncio.Server:
    size = megabytes * 1024 * 1024

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {size}\r\nconnection: close\r\n\r\n".encode())
        sent = 0
        try:
            while sent < size:
                writer.write(CHUNK[: size - sent])
                await writer.drain()
                sent += len(CHUNK)
        except ConnectionError:
            pass  # the client hung up: what the streamed variant does
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def child(variant: str, url: str) -> dict[str, float]:
    settings = Settings()
    webhooks = WebhookSettings(_env_file=None, allow_private_targets=True, timeout_seconds=600)
    http = create_http_client(settings)
    webhook = Webhook(url=url, secret="whsec_" + "A" * 32)
    delivery = WebhookDelivery(id=uuid.uuid4(), payload={"type": "post.published", "data": {}})
    before = rss_mb(os.getpid())
    started = time.perf_counter()
    if variant == "buffered":
        response = await http.post(url, json=delivery.payload, timeout=600)
        status = response.status_code
    else:
        attempt = await webhook_delivery.send(http, system_resolver, webhooks, webhook, delivery)
        status = attempt.response_status or 0
    seconds = time.perf_counter() - started
    await http.aclose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"status": status, "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1), "seconds": seconds}


async def main(megabytes: int) -> None:
    server = await serve(megabytes)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    print(f"reply body: {megabytes} MiB")
    for variant in ("buffered", "streamed"):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.webhook_reply_memory", "--child", variant, url, stdout=subprocess.PIPE
        )
        out, _ = await process.communicate()
        result = json.loads(out)
        print(
            f"{variant:9} status {result['status']}  VmRSS before {result['rss_before_mb']:7.1f} MB  "
            f"peak {result['peak_rss_mb']:7.1f} MB  {result['seconds']:6.2f} s"
        )
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1536)
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(*args.child))))
    else:
        asyncio.run(main(args.megabytes))
