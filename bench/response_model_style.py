"""SCH-3: what each way of declaring a response model costs per request, in process.

    uv run python bench/response_model_style.py [--requests 3000]

Four handlers return the same 50-item page; the script drives each through the
full ASGI stack (routing, validation, serialization) and prints microseconds per
request, median of five rounds. No server and no network: only FastAPI's work differs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict


class Item(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    name: str
    is_active: bool
    created_at: datetime


class ItemPage(BaseModel):
    items: list[Item]
    next_cursor: str | None
    limit: int


@dataclass
class Row:  # stands in for an ORM row
    id: uuid.UUID
    email: str
    name: str
    is_active: bool
    created_at: datetime


ROWS = [Row(uuid.uuid4(), f"user{i}@example.com", f"User {i}", True, datetime.now(UTC)) for i in range(50)]
DICTS = [row.__dict__ for row in ROWS]

app = FastAPI()


@app.get("/annotation-instance")
async def annotation_instance() -> ItemPage:
    """The project's style: the return annotation declares the model; the handler returns an instance."""
    return ItemPage(items=[Item.model_validate(row) for row in ROWS], next_cursor=None, limit=50)


@app.get("/decorator-and-instance", response_model=ItemPage)
async def decorator_and_instance() -> ItemPage:
    return ItemPage(items=[Item.model_validate(row) for row in ROWS], next_cursor=None, limit=50)


@app.get("/decorator-rows", response_model=ItemPage)
async def decorator_rows() -> Any:
    """ORM-like rows handed to FastAPI, validated once from attributes on the way out."""
    return {"items": ROWS, "next_cursor": None, "limit": 50}


@app.get("/decorator-dict", response_model=ItemPage)
async def decorator_dict() -> Any:
    return {"items": DICTS, "next_cursor": None, "limit": 50}


@app.get("/no-model-dict")
async def no_model_dict() -> dict[str, Any]:
    return {"items": DICTS, "next_cursor": None, "limit": 50}


async def measure(client: httpx.AsyncClient, path: str, requests: int) -> float:
    for _ in range(200):  # warm-up
        await client.get(path)
    started = time.perf_counter()
    for _ in range(requests):
        response = await client.get(path)
        response.raise_for_status()
    return (time.perf_counter() - started) / requests * 1e6


async def main(requests: int) -> None:
    paths = ["/annotation-instance", "/decorator-and-instance", "/decorator-rows", "/decorator-dict", "/no-model-dict"]
    results: dict[str, list[float]] = {path: [] for path in paths}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(5):
            for path in paths:
                results[path].append(await measure(client, path, requests))
    baseline = statistics.median(results[paths[0]])
    print(f"{'style':<26} {'µs/request':>11} {'vs project style':>17}")
    for path in paths:
        median = statistics.median(results[path])
        print(f"{path.strip('/'):<26} {median:>11.0f} {median / baseline:>16.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    asyncio.run(main(parser.parse_args().requests))
