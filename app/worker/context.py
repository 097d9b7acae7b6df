"""What every job receives through Arq's `ctx` (JOB-4): built once per worker process at start-up.

Jobs read their dependencies from here and from their arguments, never from
the API's `app.state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.config import Settings
from app.core.mail import Mailer
from app.core.ssrf import Resolver, system_resolver
from app.resources import Resources

CONTEXT_KEY = "service"


@dataclass(frozen=True, slots=True)
class WorkerContext:
    settings: Settings
    resources: Resources
    mailer: Mailer
    resolver: Resolver = system_resolver


def worker_context(ctx: dict[str, Any]) -> WorkerContext:
    context = ctx[CONTEXT_KEY]
    if not isinstance(context, WorkerContext):
        raise TypeError("the worker's start-up hook has not run")
    return context
