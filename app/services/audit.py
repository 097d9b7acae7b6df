"""The audit trail: one structured log line per security-relevant action.

Written after the response is sent (FastAPI `BackgroundTasks`), because losing
a line when a process dies is acceptable here (JOB-1) and the client should not
wait for it. Anything that must not be lost goes through the outbox instead.
"""

from __future__ import annotations

import structlog

logger = structlog.get_logger("app.audit")


async def record(action: str, **fields: str) -> None:
    logger.info("audit", action=action, **fields)
