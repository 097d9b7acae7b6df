"""The background worker: `uv run python -m app.worker` (Arq's worker with `WorkerSettings`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.worker.settings import WorkerSettings

__all__ = ["WorkerSettings"]


def __getattr__(name: str) -> type[WorkerSettings]:
    # Imported on first use: `arq --check app.worker.queue.HealthCheck` loads only this package
    # and the queue module, not every job and what the jobs import.
    if name == "WorkerSettings":
        from app.worker.settings import WorkerSettings  # noqa: PLC0415 - deferred on purpose

        return WorkerSettings
    raise AttributeError(name)
