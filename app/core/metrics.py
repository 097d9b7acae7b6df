"""The Prometheus registry a scrape reads, in one process or summed over many.

Under a serving command with several processes (`uvicorn --workers N`), each process
counts its own requests; a scrape lands on one of them. With `PROMETHEUS_MULTIPROC_DIR`
set (the Dockerfile and the Kubernetes manifests set it), every process writes its
values to files in that directory and a scrape adds them up. The directory must be
empty when the first process starts: a fresh container's `/tmp`, an `emptyDir`.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_VARIABLE))


def scrape_registry() -> CollectorRegistry:
    """A registry summing every process's files in multiprocess mode; the process's own otherwise."""
    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def process_exited() -> None:
    """Drop this process's live gauges from the sums; its counters stay (they never go down)."""
    if multiprocess():
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
