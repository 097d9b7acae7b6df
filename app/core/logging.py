"""Structured logging: structlog for our code, the stdlib and uvicorn routed through it.

Local development gets a readable console; every other environment gets one
JSON object per line. Context (request id, user id, job id) is bound with
`structlog.contextvars`, so it reaches every line logged while it is bound.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import structlog

from app.core import log_tracing
from app.core.config import Environment
from app.core.log_redaction import redact_secrets

_SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    log_tracing.add_trace_ids,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
]


def configure_logging(env: Environment, level: str = "INFO") -> None:
    renderer: structlog.typing.Processor
    renderer = structlog.dev.ConsoleRenderer() if env is Environment.LOCAL else structlog.processors.JSONRenderer()

    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    # Tracebacks become plain text in every environment, never a rich one with local variables
    # (those hold settings, passwords, tokens), and then pass the redaction like any other text.
    exception_processors: list[structlog.typing.Processor] = [structlog.processors.format_exc_info, redact_secrets]
    formatter: dict[str, Any] = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": _SHARED_PROCESSORS,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exception_processors,
            renderer,
        ],
    }
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"structlog": formatter},
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structlog"}},
            "root": {"handlers": ["default"], "level": level},
            "loggers": {
                # uvicorn's own handlers are dropped so its lines go through ours.
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                # Our middleware writes a structured access line; uvicorn's would duplicate it.
                "uvicorn.access": {"handlers": [], "propagate": False},
                "sqlalchemy.engine": {"level": "WARNING"},
                # One line per outbound request is noise; callers log what matters.
                "httpx": {"level": "WARNING"},
            },
        }
    )


def adopt_logger(name: str) -> None:
    """Send a library logger that installed its own handler (arq's CLI does) through ours instead."""
    library_logger = logging.getLogger(name)
    library_logger.handlers.clear()
    library_logger.propagate = True
