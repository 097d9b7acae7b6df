"""`python -m app.worker`: the worker, as `arq app.worker.WorkerSettings` would run it, claiming jobs in batches.

Arq's CLI always builds `arq.worker.Worker`; this runs `queue.BatchClaimWorker` (Arq's worker
with one Redis round trip per poll to claim jobs, not four per job: docs/decisions/0065) with
the same settings. `arq --check app.worker.queue.HealthCheck` still checks it: the health key
is Arq's own.
"""

from __future__ import annotations

from app.worker import queue
from app.worker.settings import WorkerSettings

if __name__ == "__main__":
    queue.run_worker(WorkerSettings)
