"""Debug routes: mounted only when APP_ENV=local (API-6), never in any shared environment."""

from __future__ import annotations

import platform

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from app.api.deps import ResourcesDep
from app.db.engine import pool_status

router = APIRouter(prefix="/v1/debug", tags=["debug"])


class PoolStatus(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    size: int
    checked_out: int
    overflow: int


class DebugInfo(BaseModel):
    environment: str
    python: str
    database_pool: PoolStatus | None


@router.get(
    "/info",
    summary="Debug information",
    description="The running environment and the database pool's occupancy. Exists only when APP_ENV=local.",
)
async def info(resources: ResourcesDep) -> DebugInfo:
    status = pool_status(resources.engine)
    return DebugInfo(
        environment=resources.settings.app.env,
        python=platform.python_version(),
        database_pool=PoolStatus.model_validate(status) if status else None,
    )
