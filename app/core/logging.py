"""Structured logging: structlog for our code, the stdlib and uvicorn routed through it.

Local development gets one readable console line per event; every other environment
one JSON object per line, on stderr. Context (request id, user id, job id) is bound
with `structlog.contextvars`, so it reaches every line logged while it is bound.

Two pipelines end in the same JSON fields:
- our own events (the access line on every request among them) in staging and
  production go through structlog's bytes pipeline: processors, then orjson, then
  one write. No stdlib `LogRecord`, handler or formatter per line (decision 0063);
- library events (uvicorn, arq, SQLAlchemy, Alembic), and all events in local
  development and tests, go through the stdlib: `ProcessorFormatter` renders them
  with the same processors. Tests read events from `caplog` through this path.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any

import orjson
import structlog

from app.core import log_tracing
from app.core.config import Environment
from app.core.log_redaction import redact_secrets


def _drop_color_message(
    _: structlog.typing.WrappedLogger, __: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # uvicorn passes its message a second time, with terminal escape codes, as `extra`.
    event_dict.pop("color_message", None)
    return event_dict


# Every line, from either pipeline, goes through these. A processor that must see every
# event (redaction, say) is added at the end of this list.
_SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    log_tracing.add_trace_ids,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
    _drop_color_message,
]

# arq logs two INFO lines per job and a health line every `health_check_interval`: at
# hundreds of jobs a second that is most of the log and ~8% of the worker's CPU. They
# become DEBUG; retries, failures and start-up stay INFO or above.
_ARQ_ROUTINE_PREFIXES = ("%6.2fs → ", "%6.2fs ← ", "recording health: ")


class LeftToTheirOwnHandler(logging.Filter):
    """Drops a library's records while its logger still has a handler of its own.

    arq's CLI configures its `arq` logger with a handler before the worker starts; its first
    lines would print twice, once there and once through ours. Until `adopt_logger` takes the
    logger over, that handler alone prints them.
    """

    def __init__(self, name: str = "arq") -> None:
        super().__init__()
        self.library = name

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != self.library and not record.name.startswith(f"{self.library}."):
            return True
        return not logging.getLogger(self.library).handlers


class _ArqRoutineLinesToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(_ARQ_ROUTINE_PREFIXES):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def configure_logging(env: Environment, level: str = "INFO") -> None:
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if env is Environment.LOCAL else structlog.processors.JSONRenderer()
    )
    # Tracebacks become plain text in every environment, never a rich one with local variables
    # (those hold settings, passwords, tokens), and then pass the redaction like any other text.
    exception_processors: list[structlog.typing.Processor] = [structlog.processors.format_exc_info, redact_secrets]

    if env.is_development:
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
    else:
        structlog.configure(
            processors=[
                *_SHARED_PROCESSORS,
                structlog.processors.StackInfoRenderer(),
                *exception_processors,
                structlog.processors.JSONRenderer(serializer=orjson.dumps),
            ],
            logger_factory=structlog.BytesLoggerFactory(sys.stderr.buffer),
            wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
            cache_logger_on_first_use=True,
        )

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
            "filters": {
                "arq_routine": {"()": _ArqRoutineLinesToDebug},
                "arq_own_handler": {"()": LeftToTheirOwnHandler, "name": "arq"},
            },
            "handlers": {
                "default": {"class": "logging.StreamHandler", "formatter": "structlog", "filters": ["arq_own_handler"]}
            },
            "root": {"handlers": ["default"], "level": level},
            "loggers": {
                # uvicorn's own handlers are dropped so its lines go through ours.
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                # Our middleware writes a structured access line; uvicorn's would duplicate it.
                "uvicorn.access": {"handlers": [], "propagate": False},
                # arq's CLI installs a handler of its own before our settings load; `adopt_logger`
                # removes it at start-up. Its routine per-job lines are DEBUG (above).
                "arq.worker": {"filters": ["arq_routine"]},
                "sqlalchemy.engine": {"level": "WARNING"},
                # Which plugins Alembic loaded, on every migration run: not worth a line.
                "alembic.runtime.plugins": {"level": "WARNING"},
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
