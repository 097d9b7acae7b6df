"""Job metrics, by job name; the worker serves them on `JOBS_METRICS_PORT` (decision 0073).

The outbox lag is not here: the API computes it from the table at each scrape, so it
keeps rising while no worker runs, which is when it matters.
"""

from __future__ import annotations

from prometheus_client import Counter

JOBS_STARTED = Counter("worker_jobs_started_total", "Job runs started, by job name.", ["job"])
# outcome: succeeded (effect committed, or already done), retried (will run again), failed (for good:
# an invalid payload, or the last of JOBS_MAX_TRIES).
JOBS_FINISHED = Counter("worker_jobs_finished_total", "Job runs finished, by job name and outcome.", ["job", "outcome"])
