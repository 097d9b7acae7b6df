"""`GET /metrics` in the Prometheus text format (OPS-7).

Under a serving command with several processes, `PROMETHEUS_MULTIPROC_DIR` makes every
scrape the sum over all of them (`app/core/metrics.py`). The outbox lag is computed here,
from the table, at each scrape (decision 0073): it is one indexed query, and it keeps
rising while no worker runs. When the database does not answer, the scrape still
succeeds, without that one sample.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from app.api.deps import DbSession
from app.core import metrics as metrics_core
from app.services import outbox as outbox_service

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(session: DbSession) -> Response:
    body = generate_latest(metrics_core.scrape_registry())
    lag = await outbox_service.lag_seconds(session)
    if lag is not None:
        body += generate_latest(_Sample(GaugeMetricFamily(OUTBOX_LAG, OUTBOX_LAG_HELP, value=lag)))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


OUTBOX_LAG = "outbox_lag_seconds"
OUTBOX_LAG_HELP = "Age of the oldest due outbox row not yet handed to the queue."


class _Sample:
    """A value read at this scrape. Not a `Gauge`: in multiprocess mode a Gauge writes to the shared files."""

    def __init__(self, family: GaugeMetricFamily) -> None:
        self._family = family

    def collect(self) -> Iterator[Metric]:
        yield self._family
