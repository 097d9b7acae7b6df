"""The composition root: `create_app()` wires settings, lifespan, middleware, handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from app.api import health, metrics
from app.api import v1 as api_v1
from app.api.middleware.body_limit import BodySizeLimitMiddleware
from app.api.middleware.observability import ObservabilityMiddleware
from app.api.middleware.request_id import RequestIdMiddleware
from app.api.middleware.unhandled_errors import UnhandledErrorMiddleware
from app.api.openapi import install_openapi, operation_id
from app.api.problems import handle_unexpected_error, install_problem_handlers
from app.api.request_context import REQUEST_ID_HEADER
from app.api.v1 import debug
from app.core import runtime
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.resources import open_resources


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.app.env, settings.app.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings, application_name=f"{settings.app.name}-api") as resources:
            app.state.resources = resources
            runtime.freeze_start_up_objects()
            yield

    serves_docs = settings.app.env.serves_docs
    app = FastAPI(
        title=settings.app.name,
        version="1.0.0",
        description="The reference FastAPI service.",
        lifespan=lifespan,
        docs_url="/docs" if serves_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if serves_docs else None,
        generate_unique_id_function=operation_id,
        # Keep the token field filled in across page reloads in Swagger UI.
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.state.settings = settings

    install_problem_handlers(app)
    # Outside every middleware: only reached when a middleware itself fails.
    app.add_exception_handler(Exception, handle_unexpected_error)

    # Added innermost first; CORS ends up outermost so even errors carry CORS headers.
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.app.max_body_bytes)
    app.add_middleware(ObservabilityMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[str(origin).rstrip("/") for origin in settings.app.cors_origins],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
    )

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api_v1.router)
    if settings.app.env.serves_debug_routes:
        app.include_router(debug.router)
    install_openapi(app)
    return app


app = create_app()
