"""Typed settings, split by concern, each group reading its own environment prefix.

Every group validates at start-up, so a missing or weak value stops the process
with a message naming the variable instead of failing on the first request.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Self

from pydantic import AnyHttpUrl, BaseModel, Field, PostgresDsn, RedisDsn, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_ENV_FILE = ".env"
_MIN_SECRET_LENGTH = 32
_MIN_DISTINCT_CHARACTERS = 10
_DEVELOPMENT_SECRET = "local-development-only-secret-never-use-in-production-0123456789"  # noqa: S105 - only accepted in local/test


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"

    @property
    def serves_docs(self) -> bool:
        return self is not Environment.PRODUCTION

    @property
    def serves_debug_routes(self) -> bool:
        return self is Environment.LOCAL

    @property
    def is_development(self) -> bool:
        return self in (Environment.LOCAL, Environment.TEST)


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, env_file=_ENV_FILE, extra="ignore", frozen=True)


class AppSettings(BaseSettings):
    model_config = _group("APP_")

    env: Environment = Environment.LOCAL
    name: str = "service"
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    cors_origins: list[AnyHttpUrl] = Field(default_factory=list)
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    # The request line plus headers (431 beyond), and how long a client may take to send them.
    max_header_bytes: Annotated[int, Field(ge=1024)] = 16_384
    header_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    problem_base_url: AnyHttpUrl = AnyHttpUrl("https://errors.example.com/problems/")
    http_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or networks,
    # comma-separated, or `*`. Empty: every caller is the peer it connects from.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_addresses(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    msg = f"APP_FORWARDED_ALLOW_IPS: {entry!r} is not an IP address, a network or *"
                    raise ValueError(msg) from None
        return value

    # Host header values the service answers to (`*.example.com` covers subdomains); any other is a 400.
    allowed_hosts: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1", "::1"], min_length=1)
    # True when a proxy in front terminates TLS: responses then carry Strict-Transport-Security.
    tls_terminated_upstream: bool = False
    # Where people reach the service: links in e-mails (verification, password reset) start here.
    public_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")


class DatabaseSettings(BaseSettings):
    model_config = _group("DATABASE_")

    # repr=False: the DSN may hold a password, and a settings object can end up in a log or a traceback.
    url: Annotated[PostgresDsn, Field(repr=False)] = PostgresDsn("postgresql+asyncpg://postgres@localhost:5432/service")
    # A fixed pool sized to the requests one process has in flight (decision 0061): an overflow
    # connection is opened and closed under steady load, losing its prepared-statement cache.
    pool_size: Annotated[int, Field(ge=1)] = 16
    max_overflow: Annotated[int, Field(ge=0)] = 0
    pool_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    statement_timeout_ms: Annotated[int, Field(ge=100)] = 5_000
    # The client's own bound on each statement: it holds when the server cannot answer at all
    # (frozen, partitioned), where the server-side statement_timeout never fires.
    command_timeout_seconds: Annotated[float, Field(gt=0)] = 6.0
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 3.0
    health_timeout_seconds: Annotated[float, Field(gt=0)] = 1.0
    # The URL points at PgBouncer in transaction mode: no cached or reused prepared-statement
    # names, and no per-connection startup settings (docs/scaling.md#pgbouncer).
    pgbouncer: bool = False

    @field_validator("url")
    @classmethod
    def _require_asyncpg(cls, url: PostgresDsn) -> PostgresDsn:
        if url.scheme != "postgresql+asyncpg":
            msg = "DATABASE_URL must use the async driver: postgresql+asyncpg://..."
            raise ValueError(msg)
        return url


class RedisSettings(BaseSettings):
    model_config = _group("REDIS_")

    url: Annotated[RedisDsn, Field(repr=False)] = RedisDsn("redis://localhost:6379/0")
    socket_timeout_seconds: Annotated[float, Field(gt=0)] = 2.0
    health_timeout_seconds: Annotated[float, Field(gt=0)] = 1.0


class AuthSettings(BaseSettings):
    model_config = _group("AUTH_")

    jwt_secret: SecretStr | None = None
    jwt_algorithm: Annotated[str, Field(pattern=r"^HS(256|384|512)$")] = "HS256"
    jwt_issuer: str = "service"
    jwt_audience: str = "service-api"
    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=3600)] = 900
    refresh_token_ttl_seconds: Annotated[int, Field(ge=3600)] = 30 * 24 * 3600
    # argon2id cost; the defaults are OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
    argon2_memory_kib: Annotated[int, Field(ge=1024)] = 19_456
    argon2_time_cost: Annotated[int, Field(ge=1)] = 2
    argon2_parallelism: Annotated[int, Field(ge=1)] = 1
    # One-time links sent by e-mail: how long each stays usable.
    email_verification_ttl_seconds: Annotated[int, Field(ge=300)] = 24 * 3600
    password_reset_ttl_seconds: Annotated[int, Field(ge=300, le=24 * 3600)] = 30 * 60
    # A self-deleted account is erased this long after it was deactivated (re-activation cancels).
    account_erasure_grace_days: Annotated[int, Field(ge=0)] = 30

    @field_validator("jwt_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `AUTH_JWT_SECRET=` copied from .env.example means "not set", not "an empty secret".
        return None if value == "" else value


class SmtpSettings(BaseSettings):
    model_config = _group("SMTP_")

    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 1025
    from_: Annotated[str, Field(validation_alias="SMTP_FROM")] = "Service <no-reply@example.com>"
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0


_RATE = re.compile(r"^(?P<count>[1-9]\d*)/(?P<unit>second|minute|hour)$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


class Rate(BaseModel):
    """A rate written `N/second|minute|hour`, e.g. `5/minute`."""

    model_config = {"frozen": True}

    count: int
    window_seconds: int

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            match = _RATE.match(value.strip())
            if match is None:
                msg = f"{value!r} is not a rate; write N/second, N/minute or N/hour"
                raise ValueError(msg)
            return {"count": int(match["count"]), "window_seconds": _UNIT_SECONDS[match["unit"]]}
        return value


class RateLimitSettings(BaseSettings):
    model_config = _group("RATE_LIMIT_")

    enabled: bool = True
    # NoDecode: the value is the `N/unit` text, not JSON.
    signup: Annotated[Rate, NoDecode] = Rate.model_validate("5/minute")
    token: Annotated[Rate, NoDecode] = Rate.model_validate("10/minute")
    # Password guesses (token endpoint and `current_password`): per (account, address) pair, and a
    # looser ceiling per account, so strangers' wrong attempts cannot lock the owner out.
    token_per_account_address: Annotated[Rate, NoDecode] = Rate.model_validate("5/minute")
    token_per_account: Annotated[Rate, NoDecode] = Rate.model_validate("30/minute")
    # Reads without a token (published posts, search), per client address.
    anonymous_read: Annotated[Rate, NoDecode] = Rate.model_validate("300/minute")
    verify_email_per_account: Annotated[Rate, NoDecode] = Rate.model_validate("3/hour")
    password_reset: Annotated[Rate, NoDecode] = Rate.model_validate("10/hour")
    password_reset_per_email: Annotated[Rate, NoDecode] = Rate.model_validate("3/hour")


class WebhookSettings(BaseSettings):
    model_config = _group("WEBHOOKS_")

    allow_private_targets: bool = False
    # Ports a webhook URL may name while private targets are refused: web servers, not a host's other services.
    allowed_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(default_factory=lambda: [80, 443])
    # Subscriptions one user may hold: each is a delivery on every event it subscribes to.
    max_per_user: Annotated[int, Field(ge=1)] = 10
    # One deadline for each attempt: connect, send, the answer's headers and the kept part of its body.
    timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    # How much of a receiver's reply body is kept (in the delivery's last_error); the rest is never read.
    response_prefix_bytes: Annotated[int, Field(ge=0, le=65_536)] = 1024
    # With the defaults, retries wait up to 5 s, 10 s, 20 s, ... doubling to an hour: 12 attempts span ~2.5 h.
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 12
    retry_base_seconds: Annotated[float, Field(ge=0)] = 5.0


class ExportSettings(BaseSettings):
    """Exports of a user's own data, streamed in batches."""

    model_config = _group("EXPORTS_")

    # Rows read, rendered and sent at a time: what one export holds in memory (posts are at most 50 KB).
    batch_size: Annotated[int, Field(ge=1, le=5000)] = 200
    # Exports one user may run at once, across every process; one more is 429 too_many_exports.
    max_concurrent_per_user: Annotated[int, Field(ge=1)] = 2


class JobSettings(BaseSettings):
    """The worker: how the outbox relay and the queue behave."""

    model_config = _group("JOBS_")

    relay_batch_size: Annotated[int, Field(ge=1, le=5000)] = 500
    relay_idle_seconds: Annotated[float, Field(gt=0)] = 0.2
    max_concurrent_jobs: Annotated[int, Field(ge=1)] = 50
    job_timeout_seconds: Annotated[int, Field(ge=1)] = 60
    # Arq's own re-runs, for a job cancelled mid-run (a shutdown); failures are retried through the outbox.
    max_tries: Annotated[int, Field(ge=1)] = 5
    # On SIGTERM, running jobs get this long to finish before they are cancelled.
    completion_wait_seconds: Annotated[int, Field(ge=0)] = 20
    # A row dispatched this long ago and still not processed is handed to the queue again.
    redispatch_after_seconds: Annotated[int, Field(ge=60)] = 600
    # Every attempt is one dispatch: a job that failed this many times stays failed, with its last_error.
    max_dispatches: Annotated[int, Field(ge=1)] = 60
    # A failed job runs again after base * 2**(n-1) seconds, jittered, at most max_delay apart: with
    # the defaults it keeps trying for about an hour and runs within a minute of an outage ending.
    retry_base_seconds: Annotated[float, Field(gt=0)] = 2.0
    retry_max_delay_seconds: Annotated[float, Field(gt=0)] = 60.0
    keep_processed_days: Annotated[int, Field(ge=1)] = 7
    health_check_interval_seconds: Annotated[int, Field(ge=1)] = 10
    # The worker's own `/metrics` (job counters); unset, no server. Containers set 9000 on 0.0.0.0.
    metrics_port: Annotated[int | None, Field(ge=1, le=65535)] = None
    metrics_host: str = "127.0.0.1"

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value


class IdempotencySettings(BaseSettings):
    """`Idempotency-Key` on unsafe POSTs (docs/http-semantics.md)."""

    model_config = _group("IDEMPOTENCY_")

    # How long a key is remembered; a repeat after that runs as a new request. The draft suggests 24 h.
    ttl_seconds: Annotated[int, Field(ge=60)] = 24 * 3600


class Settings(BaseModel):
    """All settings groups, validated together so cross-group rules can be enforced."""

    model_config = {"frozen": True}

    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    idempotency: IdempotencySettings = Field(default_factory=IdempotencySettings)
    exports: ExportSettings = Field(default_factory=ExportSettings)

    @model_validator(mode="after")
    def _secrets_fit_the_environment(self) -> Self:
        secret = self.auth.jwt_secret
        if secret is None:
            if not self.app.env.is_development:
                msg = f"AUTH_JWT_SECRET is required when APP_ENV={self.app.env}"
                raise ValueError(msg)
        elif not _is_strong(secret.get_secret_value()):
            msg = f"AUTH_JWT_SECRET is too weak: use at least {_MIN_SECRET_LENGTH} random characters"
            raise ValueError(msg)
        if self.webhooks.allow_private_targets and self.app.env is Environment.PRODUCTION:
            msg = "WEBHOOKS_ALLOW_PRIVATE_TARGETS must stay false when APP_ENV=production"
            raise ValueError(msg)
        return self

    @property
    def redis_key_prefix(self) -> str:
        """The start of every Redis key this service writes: the job queue, job ids, rate limits.

        Derived from `APP_NAME`, so two services made from this template can share one Redis
        database without taking each other's jobs or counting each other's requests.
        """
        return f"{self.app.name}:"

    @property
    def jwt_signing_key(self) -> str:
        """The HMAC key for access tokens; a fixed one in local/test keeps tokens valid across reloads."""
        secret = self.auth.jwt_secret
        return _DEVELOPMENT_SECRET if secret is None else secret.get_secret_value()


def _is_strong(secret: str) -> bool:
    # Length alone would accept "aaaa...": ask for some variety too.
    return len(secret) >= _MIN_SECRET_LENGTH and len(set(secret)) >= _MIN_DISTINCT_CHARACTERS


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment (and `.env`, if present)."""
    return Settings()
