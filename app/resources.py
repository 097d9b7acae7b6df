"""The process-wide resources: one engine, one Redis client, one HTTP client.

Built once per process (the API's lifespan, the worker's start-up) and closed on
shutdown. Handlers reach them through dependencies, never through globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core import tracing
from app.core.config import Settings
from app.db.engine import create_engine, create_session_factory, ping

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis
    http: httpx.AsyncClient
    # Our own spans (the relay, jobs, SMTP); the no-op tracer when tracing is off.
    tracer: trace.Tracer = field(default_factory=trace.NoOpTracer)


def create_redis(settings: Settings) -> Redis:
    client: Redis = Redis.from_url(
        str(settings.redis.url),
        socket_timeout=settings.redis.socket_timeout_seconds,
        socket_connect_timeout=settings.redis.socket_timeout_seconds,
        health_check_interval=30,
    )
    return client


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.app.http_timeout_seconds, connect=min(5.0, settings.app.http_timeout_seconds)),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        # Outbound calls go to URLs users registered; following redirects would let
        # a harmless-looking URL bounce the request to an internal address.
        follow_redirects=False,
    )


@asynccontextmanager
async def open_resources(
    settings: Settings, *, application_name: str, tracer_provider: TracerProvider | None = None
) -> AsyncIterator[Resources]:
    engine = create_engine(settings.database, application_name=application_name)
    redis = create_redis(settings)
    http = create_http_client(settings)
    if tracer_provider is not None:
        tracing.instrument_clients(tracer_provider, engine=engine, redis=redis, http=http)
    try:
        # Fail at start-up, with the reason, rather than on the first request.
        await ping(engine)
        yield Resources(
            settings=settings,
            engine=engine,
            session_factory=create_session_factory(engine),
            redis=redis,
            http=http,
            tracer=tracing.tracer(tracer_provider),
        )
    finally:
        await http.aclose()
        await redis.aclose()
        await engine.dispose()
        logger.info("resources closed", application=application_name)
