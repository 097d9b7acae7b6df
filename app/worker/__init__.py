"""The background worker: `uv run arq app.worker.WorkerSettings`."""

from app.worker.settings import WorkerSettings

__all__ = ["WorkerSettings"]
