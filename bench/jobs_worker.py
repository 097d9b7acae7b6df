"""The worker the jobs bench runs: the real WorkerSettings, relay, runner and jobs, with mail sent nowhere.

    python -m bench.jobs_worker      # started by bench/jobs_throughput.py, as `python -m app.worker` runs

Only the SMTP socket is swapped: `send_welcome_email` still runs through the real job
function, `runner.run` (row lock, idempotency check, processed mark, one transaction)
and the notifications service (loads the user, renders the template); the rendered
message is then dropped instead of sent, so the bench measures the queue, not a mail server.
"""

from __future__ import annotations

import dataclasses
from email.message import Message
from typing import Any

from app.worker import queue
from app.worker.context import CONTEXT_KEY, WorkerContext
from app.worker.settings import WorkerSettings


class DiscardingMailer:
    async def send(self, message: Message) -> None:
        del message


async def startup(ctx: dict[str, Any]) -> None:
    await WorkerSettings.on_startup(ctx)
    context: WorkerContext = ctx[CONTEXT_KEY]
    ctx[CONTEXT_KEY] = dataclasses.replace(context, mailer=DiscardingMailer())


# Arq reads the class's own __dict__, not inherited attributes: copy every setting, swap the start-up hook.
BenchWorkerSettings = type(
    "BenchWorkerSettings",
    (),
    {
        **{name: value for name, value in vars(WorkerSettings).items() if not name.startswith("__")},
        "on_startup": startup,
    },
)


if __name__ == "__main__":
    queue.run_worker(BenchWorkerSettings)
