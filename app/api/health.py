"""Liveness and readiness probes (OPS-4). Unversioned: they belong to the platform, not the API."""

from __future__ import annotations

import asyncio
from typing import Literal

import structlog
from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import ResourcesDep
from app.api.problems import RETRY_AFTER_SECONDS_ON_OUTAGE, problem_responses
from app.core.errors import ServiceUnavailable
from app.core.version import SERVICE_VERSION
from app.db.health import ping_outside_the_pool
from app.resources import Resources

router = APIRouter(prefix="/health", tags=["health"])
logger = structlog.get_logger(__name__)

CheckStatus = Literal["ok", "failed"]


class LiveStatus(BaseModel):
    status: Literal["ok"] = "ok"
    version: str = SERVICE_VERSION


class ReadyStatus(BaseModel):
    status: Literal["ok"] = "ok"
    checks: dict[str, CheckStatus]


@router.get(
    "/live",
    summary="Liveness probe",
    description="Answers 200 while the process serves requests, with the version it runs.",
)
async def live() -> LiveStatus:
    return LiveStatus()


@router.get(
    "/ready",
    summary="Readiness probe",
    description="Answers 200 when PostgreSQL and Redis both answer within their timeouts; "
    "503 Problem Details naming the failed checks otherwise. The database is asked on a connection "
    "of the probe's own: a busy connection pool is load, not unreadiness.",
    responses=problem_responses(503),
)
async def ready(resources: ResourcesDep) -> ReadyStatus:
    database, redis = await asyncio.gather(_check_database(resources), _check_redis(resources))
    checks: dict[str, CheckStatus] = {"database": database, "redis": redis}
    failed = sorted(name for name, status in checks.items() if status != "ok")
    if failed:
        msg = f"Not ready: {', '.join(failed)} unavailable."
        raise ServiceUnavailable(
            msg,
            retry_after_seconds=RETRY_AFTER_SECONDS_ON_OUTAGE,
            extensions={"checks": checks},
        )
    return ReadyStatus(checks=checks)


async def _check_database(resources: Resources) -> CheckStatus:
    try:
        await ping_outside_the_pool(resources.settings.database)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the log says which
        logger.warning("readiness check failed", check="database", error=repr(exc))
        return "failed"
    return "ok"


async def _check_redis(resources: Resources) -> CheckStatus:
    try:
        async with asyncio.timeout(resources.settings.redis.health_timeout_seconds):
            await resources.redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the log says which
        logger.warning("readiness check failed", check="redis", error=repr(exc))
        return "failed"
    return "ok"
