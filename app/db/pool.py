"""A connection pool that serves waiting requests in arrival order and pings only idle connections.

SQLAlchemy's `AsyncAdaptedQueuePool` keeps returned connections in an `asyncio.Queue`.
When a connection comes back, the queue wakes its oldest waiter but leaves the
connection in the queue; a request arriving before that waiter runs takes it, and the
waiter, finding the queue empty, queues again *at the back*. Under steady load some
requests lose that race again and again: with 32 clients on 10 + 5 connections, p99 was
7 to 15 times p50 and some requests hit the pool timeout (docs/performance.md).

`FairAsyncPool` hands each returned connection straight to the oldest waiter; a newcomer
gets a connection only when nobody is waiting. It also skips the pre-ping for a
connection that was in use less than `PING_AFTER_IDLE_SECONDS` ago: under load that is
almost every checkout, and the ping is a full round trip. Written against SQLAlchemy
2.1's pool internals (`_queue_class`, `_do_get`, `_do_return_conn`, the record's
`fresh` flag), which is why `pyproject.toml` pins SQLAlchemy to 2.1.
Decision: docs/decisions/0061-fair-connection-pool.md.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon

# A connection used this recently is as good as pinged: a database restart inside that
# window fails the one request that draws the dead connection (a 503), and SQLAlchemy
# then recycles every connection older than the failure.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "service.returned_at"


class HandOffQueue(QueueCommon[ConnectionPoolEntry]):
    """A FIFO of idle connections where a `put` goes to the oldest waiter before anyone else.

    Invariant: idle connections and live waiters never coexist. A newcomer therefore
    waits whenever someone is already waiting, and waiters are served in arrival order.
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:  # noqa: FBT001, FBT002 - SQLAlchemy's signature
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: deque[ConnectionPoolEntry] = deque()
        self._waiters: deque[asyncio.Future[ConnectionPoolEntry]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        return len(self._idle)

    def put(self, item: ConnectionPoolEntry, block: bool = True, timeout: float | None = None) -> None:  # noqa: ARG002, FBT001, FBT002
        self.put_nowait(item)

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is skipped
                waiter.set_result(item)
                return
        if self.full():
            raise Full
        self._idle.append(item)

    def get_nowait(self) -> ConnectionPoolEntry:
        if not self._idle:
            raise Empty
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:  # noqa: FBT001, FBT002
        if self._idle or not block:
            return self.get_nowait()
        waiter: asyncio.Future[ConnectionPoolEntry] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(asyncio.wait_for(waiter, timeout))
        except BaseException as error:
            # Cancelled after a connection was handed over: pass it on, or it is lost to the pool.
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())
            if isinstance(error, TimeoutError):
                raise Empty from error
            raise


class FairAsyncPool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` with hand-off in arrival order and a pre-ping only after idleness."""

    _queue_class = HandOffQueue
    # Log under `sqlalchemy.pool` like the stock pools, so SQLAlchemy's logging settings apply.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.FairAsyncPool"

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()
        super()._do_return_conn(record)

    def _do_get(self) -> ConnectionPoolEntry:
        record = super()._do_get()
        returned_at = record.info.get(_RETURNED_AT)
        if self._pre_ping and returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            # The pool skips its pre-ping for a connection it considers fresh.
            record.fresh = True  # type: ignore[attr-defined]
        return record
