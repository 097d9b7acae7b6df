"""One trace from the request through the outbox, the relay and the job to SMTP and webhooks (SPEC §6)."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tracing
from app.core.config import Settings, SmtpSettings
from app.core.mail import SmtpMailer
from app.models.outbox import JobOutbox
from app.models.webhook import Webhook
from app.resources import Resources
from app.schemas.events import EventType
from app.services import events as events_service
from app.worker.context import CONTEXT_KEY, WorkerContext
from app.worker.relay import relay_once
from app.worker.settings import build_startup
from app.worker.upkeep import redispatch_lost_jobs
from tests.observability.conftest import SpanLog
from tests.support.factories import UserCreateFactory, create_user
from tests.support.logs import events
from tests.support.outages import closed_port
from tests.support.receiver import http_receiver
from tests.support.smtp import Inbox
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)


async def traced_burst(settings: Settings, provider: TracerProvider) -> None:
    await run_burst(settings, on_startup=build_startup(settings, tracer_provider=provider))


def every_attribute_value(spans: list[ReadableSpan]) -> str:
    values: list[str] = []
    for span in spans:
        values.extend(str(value) for value in (span.attributes or {}).values())
        for event in span.events:
            values.extend(str(value) for value in (event.attributes or {}).values())
        values.append(span.status.description or "")
    return "\n".join(values)


def statements(spans: list[ReadableSpan]) -> list[str]:
    return [str((span.attributes or {}).get("db.statement", "")) for span in spans]


async def test_one_sign_up_is_one_trace_from_request_to_smtp(
    traced_client: httpx.AsyncClient,
    traced_resources: Resources,
    tracer_provider: TracerProvider,
    worker_settings: Settings,
    arq_pool: ArqRedis,
    inbox: Inbox,
    spans: SpanLog,
    db_session: AsyncSession,
) -> None:
    body = UserCreateFactory.build().model_dump()
    response = await traced_client.post("/v1/auth/signup", json=body)
    assert response.status_code == 201, response.text
    assert await relay_once(traced_resources, arq_pool, batch_size=10) == 1
    await traced_burst(worker_settings, tracer_provider)
    assert inbox.to(body["email"])

    [server] = [span for span in spans.all() if span.kind is SpanKind.SERVER]
    assert server.context is not None
    trace_spans = spans.of_trace(server.context.trace_id)
    names = [span.name for span in trace_spans]
    print("sign-up trace:", " → ".join(names))  # noqa: T201 - the docs quote this line
    assert names[0] == "POST /v1/auth/signup"
    inserts = [statement for statement in statements(trace_spans) if statement.startswith("INSERT")]
    assert any('INTO "user"' in statement for statement in inserts), inserts
    assert any("INTO job_outbox" in statement for statement in inserts), inserts
    # In causal order, each a descendant of the request's span.
    assert names.index("enqueue send_welcome_email") < names.index("job send_welcome_email")
    assert names.index("job send_welcome_email") < names.index("smtp send")
    by_id = {span.context.span_id: span for span in trace_spans if span.context is not None}
    [job] = spans.named("job send_welcome_email")
    [enqueue] = spans.named("enqueue send_welcome_email")
    assert job.parent is not None
    assert job.parent.span_id == enqueue.context.span_id
    assert (job.kind, enqueue.kind) == (SpanKind.CONSUMER, SpanKind.PRODUCER)
    [smtp] = spans.named("smtp send")
    assert smtp.parent is not None
    assert by_id[smtp.parent.span_id].name == "job send_welcome_email"

    # The row carried the trace across the commit.
    [row] = await db_session.scalars(select(JobOutbox))
    assert row.traceparent is not None
    assert row.traceparent.split("-")[1] == format(server.context.trace_id, "032x")

    # Nothing secret in any attribute, event or status: no password, no address, no SQL parameters.
    recorded = every_attribute_value(spans.all())
    assert body["password"] not in recorded
    assert body["email"] not in recorded
    assert body["name"] not in recorded


async def test_a_webhook_receiver_gets_the_trace_of_the_event(
    traced_resources: Resources,
    tracer_provider: TracerProvider,
    worker_settings: Settings,
    arq_pool: ArqRedis,
    spans: SpanLog,
    db_session: AsyncSession,
    settings: Settings,
) -> None:
    owner = await create_user(db_session, settings)
    async with http_receiver() as receiver:
        db_session.add(
            Webhook(
                user_id=owner.user.id,
                url=f"{receiver.base_url}/hook?token=query-secret-1234",
                events=["post.published"],
                secret="whsec_" + "A" * 32,
                description=None,
            )
        )
        await db_session.commit()
        with tracer_provider.get_tracer("test").start_as_current_span("publish") as publish:
            async with traced_resources.session_factory() as session:
                await events_service.emit(session, EventType.POST_PUBLISHED, {"id": "p1", "title": "Hello"})
                await session.commit()
        await relay_once(traced_resources, arq_pool, batch_size=10)
        await traced_burst(worker_settings, tracer_provider)

        [request] = receiver.requests
    version, trace_id, _span_id, _flags = request.headers["traceparent"].split("-")
    assert (version, trace_id) == ("00", format(publish.get_span_context().trace_id, "032x"))
    [client_span] = [span for span in spans.all() if span.kind is SpanKind.CLIENT and span.name.startswith("POST")]
    assert client_span.context is not None
    assert format(client_span.context.span_id, "016x") == request.headers["traceparent"].split("-")[2]
    # The webhook URL's query (a token, often) never reaches a span.
    assert "query-secret-1234" not in every_attribute_value(spans.all())


async def test_incoming_query_strings_stay_out_of_spans(traced_client: httpx.AsyncClient, spans: SpanLog) -> None:
    response = await traced_client.get("/v1/posts", params={"q": "secret-search", "limit": 5})
    assert response.status_code == 200
    [server] = [span for span in spans.all() if span.kind is SpanKind.SERVER]
    assert "secret-search" not in every_attribute_value([server])
    assert server.name == "GET /v1/posts"


async def test_log_lines_and_problems_carry_the_trace_id(
    traced_client: httpx.AsyncClient, spans: SpanLog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await traced_client.get("/v1/no-such-route", headers={"X-Request-ID": "req-traced"})
    assert response.status_code == 404
    [server] = [span for span in spans.all() if span.kind is SpanKind.SERVER]
    assert server.context is not None
    trace_id = format(server.context.trace_id, "032x")
    problem = response.json()
    assert (problem["request_id"], problem["trace_id"]) == ("req-traced", trace_id)
    [access] = events(caplog, "request")
    assert access["trace_id"] == trace_id
    assert len(access["span_id"]) == 16


async def test_untraced_problems_and_logs_have_no_trace_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.get("/v1/no-such-route")
    assert "trace_id" not in response.json()
    [access] = events(caplog, "request")
    assert "trace_id" not in access


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "svc"}, False),  # a name, but nowhere to send spans
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
    ],
)
def test_only_the_standard_variables_turn_tracing_on(environ: dict[str, str], expected: bool) -> None:
    assert tracing.enabled(environ) is expected


PROBE = """
import json
from opentelemetry import trace
from app.main import app
traced = getattr(app, "_is_instrumented_by_opentelemetry", False)
print(json.dumps({"provider": type(trace.get_tracer_provider()).__name__, "instrumented": traced}))
"""


def run_probe(extra_env: dict[str, str]) -> dict[str, Any]:
    import json
    import os

    environ = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    completed = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", PROBE], env={**environ, **extra_env}, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_with_no_otel_variables_nothing_is_installed() -> None:
    probe = run_probe({})
    assert probe["provider"] == "ProxyTracerProvider"  # the API's placeholder: no SDK provider
    assert probe["instrumented"] is False


def test_an_exporter_endpoint_installs_the_sdk_and_the_instrumentation() -> None:
    probe = run_probe({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert probe["provider"] == "TracerProvider"
    assert probe["instrumented"] is True


async def test_a_failed_send_marks_its_spans_failed_by_exception_type_only(
    traced_client: httpx.AsyncClient,
    traced_resources: Resources,
    tracer_provider: TracerProvider,
    settings: Settings,
    arq_pool: ArqRedis,
    spans: SpanLog,
) -> None:
    response = await traced_client.post("/v1/auth/signup", json=UserCreateFactory.build().model_dump())
    assert response.status_code == 201
    await relay_once(traced_resources, arq_pool, batch_size=10)
    smtp_down = settings.model_copy(
        update={"smtp": SmtpSettings(_env_file=None, port=closed_port(), timeout_seconds=1)}
    )
    await run_burst(smtp_down, max_tries=1, on_startup=build_startup(smtp_down, tracer_provider=tracer_provider))

    [smtp] = spans.named("smtp send")
    [job] = spans.named("job send_welcome_email")
    assert smtp.status.status_code is StatusCode.ERROR
    assert smtp.status.description == "SMTPConnectError"
    assert job.status.status_code is StatusCode.ERROR
    # Marked failed by the exception's type alone; the outbox row hands the job back for a later attempt.
    assert job.status.description == "SMTPConnectError"
    # Messages and tracebacks stay in the logs: an SMTP refusal, for one, names its recipients.
    assert [event.name for span in (smtp, job) for event in span.events] == []


async def test_a_cron_run_is_one_trace_and_idle_relay_polls_are_none(
    traced_resources: Resources, settings: Settings, arq_pool: ArqRedis, spans: SpanLog
) -> None:
    ctx = {CONTEXT_KEY: WorkerContext(settings=settings, resources=traced_resources, mailer=SmtpMailer(settings.smtp))}
    await redispatch_lost_jobs(ctx)
    assert await relay_once(traced_resources, arq_pool, batch_size=10) == 0  # nothing due: an idle poll

    [cron] = spans.named("cron redispatch_lost_jobs")
    assert cron.parent is None
    assert cron.context is not None
    [update] = [span for span in spans.all() if span.name == "UPDATE"]
    assert update.parent is not None
    assert update.parent.span_id == cron.context.span_id
    # The relay's polling SELECT ... FOR UPDATE SKIP LOCKED left no span at all.
    assert [span.name for span in spans.all()] == ["cron redispatch_lost_jobs", "UPDATE"]


def exporter_timeout(environ: dict[str, str]) -> float:
    """The timeout the OTLP exporter was built with: the SDK offers no public accessor for it."""
    processor = tracing.batch_processor(environ)
    try:
        timeout: float = processor._batch_processor._exporter._client._timeout  # type: ignore[attr-defined]
    finally:
        processor.shutdown()
    return timeout


def test_the_export_timeout_is_short_unless_the_standard_variable_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    assert exporter_timeout(endpoint) == tracing.DEFAULT_EXPORT_TIMEOUT_SECONDS
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "7")  # the SDK reads the variable itself
    assert exporter_timeout({**endpoint, "OTEL_EXPORTER_OTLP_TIMEOUT": "7"}) == 7


def test_an_unsupported_protocol_stops_the_process_with_a_reason() -> None:
    with pytest.raises(ValueError, match="http/protobuf"):
        tracing.batch_processor({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


async def test_a_batch_the_queue_could_not_take_fails_every_rows_producer_span(
    traced_client: httpx.AsyncClient,
    traced_resources: Resources,
    arq_pool: ArqRedis,
    spans: SpanLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(2):
        response = await traced_client.post("/v1/auth/signup", json=UserCreateFactory.build().model_dump())
        assert response.status_code == 201
    jobs: list[Any] = []

    async def redis_down(pool: ArqRedis, settings: Settings, batch: list[Any]) -> set[Any]:
        jobs.extend(batch)
        raise ConnectionError("redis is down")

    monkeypatch.setattr("app.worker.queue.enqueue", redis_down)
    with pytest.raises(ConnectionError):
        await relay_once(traced_resources, arq_pool, batch_size=10)

    producers = spans.named("enqueue send_welcome_email")
    assert len(producers) == len(jobs) == 2  # one call for the batch, one span per row
    for producer in producers:
        assert producer.kind is SpanKind.PRODUCER
        assert (producer.status.status_code, producer.status.description) == (StatusCode.ERROR, "ConnectionError")
        assert producer.context is not None
        # Each row's job carried its own span's traceparent.
        assert any(f"-{producer.context.span_id:016x}-" in job.traceparent for job in jobs)
