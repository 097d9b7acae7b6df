"""No log line, at any level, in any environment, carries a secret (docs/decisions/0013).

Each test provokes a database failure while the request carries secrets (a password,
its argon2 hash, an access token, the JWT signing key, a DSN password), with every
logger, SQLAlchemy's included, at DEBUG, and reads everything the log handler wrote.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import PostgresDsn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_resources
from app.core.config import DatabaseSettings, Environment, Settings
from app.core.log_redaction import redact_text
from app.core.logging import configure_logging
from app.db.engine import create_engine, create_session_factory
from app.models.user import User
from app.resources import Resources
from tests.support.factories import bearer, create_user
from tests.support.outages import closed_port

PASSWORD = "Pa55-word-that-must-never-be-logged"
DSN_PASSWORD = "dsn-pa55word-never-logged"


@pytest.fixture(params=list(Environment), ids=[env.value for env in Environment])
def log_output(request: pytest.FixtureRequest, settings: Settings) -> Iterator[io.StringIO]:
    """Everything the configured handler writes, for one environment, every logger at DEBUG."""
    configure_logging(request.param, "DEBUG")
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "asyncpg", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    stream = io.StringIO()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    yield stream
    configure_logging(settings.app.env, settings.app.log_level)


def assert_no_secret(output: str, *secrets: str) -> None:
    assert output, "nothing was logged: the test would prove nothing"
    for secret in secrets:
        assert secret not in output, f"{secret[:12]}... was logged"


async def test_a_unique_violation_logs_no_bind_parameters(
    probe_client: httpx.AsyncClient, log_output: io.StringIO, db_session: AsyncSession
) -> None:
    response = await probe_client.post("/probe/store-twice", json={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert "duplicate key" in log_output.getvalue()  # the failure itself is logged...
    assert_no_secret(log_output.getvalue(), PASSWORD, "$argon2")  # ...its parameters are not


async def test_a_data_error_logs_no_bind_parameters(probe_client: httpx.AsyncClient, log_output: io.StringIO) -> None:
    response = await probe_client.post("/probe/store-unstorable", json={"email": "b@example.com", "password": PASSWORD})
    assert response.status_code == 422  # refused by PostgreSQL, not a 500
    assert_no_secret(log_output.getvalue(), PASSWORD, "$argon2")


async def test_a_database_outage_logs_no_secret_of_the_request_or_the_dsn(
    app: FastAPI, client: httpx.AsyncClient, resources: Resources, settings: Settings, log_output: io.StringIO
) -> None:
    url = PostgresDsn(f"postgresql+asyncpg://app:{DSN_PASSWORD}@127.0.0.1:{closed_port()}/down")
    database = DatabaseSettings(_env_file=None, url=url, connect_timeout_seconds=1)
    engine = create_engine(database)
    broken_settings = settings.model_copy(update={"database": database})
    broken = replace(resources, settings=broken_settings, engine=engine, session_factory=create_session_factory(engine))
    app.dependency_overrides[get_resources] = lambda: broken
    try:
        structlog.get_logger("app").debug("settings in use", settings=repr(broken_settings), text=str(broken_settings))
        response = await client.post("/v1/auth/token", data={"username": "c@example.com", "password": PASSWORD})
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert_no_secret(log_output.getvalue(), PASSWORD, DSN_PASSWORD, settings.jwt_signing_key)


async def test_signed_in_traffic_with_sqlalchemy_at_debug_logs_no_hash_or_token(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, log_output: io.StringIO
) -> None:
    member = await create_user(db_session, settings, password=PASSWORD)
    headers = bearer(member.user, settings)
    wrong = {"password": "n" * 12, "current_password": "not-" + PASSWORD}
    assert (await client.patch("/v1/users/me", json=wrong, headers=headers)).status_code == 422
    signed_in = await client.post("/v1/auth/token", data={"username": member.email, "password": PASSWORD})
    assert signed_in.status_code == 200
    stored_hash = await db_session.scalar(select(User.password_hash).where(User.id == member.user.id))
    assert stored_hash
    assert_no_secret(
        log_output.getvalue(),
        PASSWORD,
        stored_hash,
        headers["Authorization"].removeprefix("Bearer "),
        signed_in.json()["access_token"],
        signed_in.json()["refresh_token"],
        settings.jwt_signing_key,
    )


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql+asyncpg://app:s3cr3t-pw@db:5432/service", "s3cr3t-pw"),
        ("redis://:s3cr3t-pw@redis:6379/0", "s3cr3t-pw"),
        ("hash $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA stored", "c2FsdA$aGFzaA"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x", "eyJzdWIiOiIxIn0"),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("[SQL: INSERT ...]\n[parameters: ('a@b.c', 'hunter2')]\n(Background on this error", "hunter2"),
        ("DETAIL:  Key (token_hash)=(abc123def) already exists.", "abc123def"),
        ("RuntimeError: password=hunter2", "hunter2"),
        ('{"client_secret": "hunter2"}', "hunter2"),
    ],
)
def test_the_redaction_masks_each_kind_of_secret_in_free_text(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


def test_settings_never_print_a_secret() -> None:
    settings = Settings.model_validate(
        {
            "database": DatabaseSettings(_env_file=None, url=PostgresDsn(f"postgresql+asyncpg://a:{DSN_PASSWORD}@h/d")),
            "auth": {"jwt_secret": "x" * 20 + "abcdefghijklmnop"},
        }
    )
    for text in (repr(settings), str(settings)):
        assert DSN_PASSWORD not in text
        assert "abcdefghijklmnop" not in text
