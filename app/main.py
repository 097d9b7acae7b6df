"""The composition root: `create_app()` wires settings, lifespan, middleware, handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api import docs, health, metrics
from app.api import v1 as api_v1
from app.api.middleware.body_limit import BodySizeLimitMiddleware
from app.api.middleware.http_semantics import HttpSemanticsMiddleware
from app.api.middleware.observability import ObservabilityMiddleware
from app.api.middleware.request_id import RequestIdMiddleware
from app.api.middleware.security_headers import SecurityHeadersMiddleware
from app.api.middleware.trusted_host import AllowedHostsMiddleware
from app.api.middleware.unhandled_errors import UnhandledErrorMiddleware
from app.api.openapi import install_openapi, operation_id
from app.api.problems import handle_unexpected_error, install_problem_handlers
from app.api.request_context import REQUEST_ID_HEADER
from app.api.routing import install_routing
from app.api.tracing import trace_requests
from app.api.v1 import debug
from app.core import metrics as metrics_core
from app.core import runtime, tracing
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.core.version import SERVICE_VERSION
from app.resources import open_resources

OPENAPI_URL = "/openapi.json"


def create_app(settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The app; traced when `OTEL_*` name an exporter, or with `tracer_provider` (tests pass one)."""
    settings = settings or get_settings()
    configure_logging(settings.app.env, settings.app.log_level)
    tracer_provider = tracer_provider or tracing.configure_from_environment(f"{settings.app.name}-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(
            settings, application_name=f"{settings.app.name}-api", tracer_provider=tracer_provider
        ) as resources:
            app.state.resources = resources
            runtime.freeze_start_up_objects()
            yield
        metrics_core.process_exited()

    serves_docs = settings.app.env.serves_docs
    app = FastAPI(
        title=settings.app.name,
        version=SERVICE_VERSION,
        description="The reference FastAPI service.",
        lifespan=lifespan,
        # /docs and /redoc come from app/api/docs.py, with their assets served here, not from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_URL if serves_docs else None,
        generate_unique_id_function=operation_id,
        # Spans come from app/api/tracing.py, only when OTEL_* configures them (decision 0070). FastAPI's
        # own hooks stay off: no second set of spans when a provider is installed, and no check of the
        # global providers on every request when none is.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings

    install_problem_handlers(app)
    install_routing(app)
    # Outside every middleware: only reached when a middleware itself fails.
    app.add_exception_handler(Exception, handle_unexpected_error)

    # Added innermost first; CORS ends up outermost so even errors carry CORS headers.
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(HttpSemanticsMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.app.max_body_bytes)
    app.add_middleware(AllowedHostsMiddleware, allowed_hosts=settings.app.allowed_hosts)
    app.add_middleware(ObservabilityMiddleware)
    app.add_middleware(
        SecurityHeadersMiddleware,
        page_policies=docs.content_security_policies(app.title, OPENAPI_URL) if serves_docs else {},
        strict_transport_security=settings.app.tls_terminated_upstream,
    )
    app.add_middleware(RequestIdMiddleware)
    if settings.app.forwarded_allow_ips:
        # The client address (rate limits, logs) comes from X-Forwarded-For only when the peer is a
        # listed proxy. The serving command runs uvicorn with --no-proxy-headers, so this is the one place.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.app.forwarded_allow_ips)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[str(origin).rstrip("/") for origin in settings.app.cors_origins],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            REQUEST_ID_HEADER,
            "Retry-After",
            "ETag",
            "Location",
            "Idempotent-Replayed",
            "WWW-Authenticate",
        ],
    )

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api_v1.router)
    if settings.app.env.serves_debug_routes:
        app.include_router(debug.router)
    install_openapi(app)
    if serves_docs:
        docs.install_docs(app, openapi_url=OPENAPI_URL)
    if tracer_provider is not None:
        trace_requests(app, tracer_provider)
    return app


app = create_app()
