"""Settings are validated at start-up with messages that name the variable (API-7, SPEC §2)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import AppSettings, DatabaseSettings, RateLimitSettings, Settings

STRONG_SECRET = "Zq7!kP2#vW9$mX4^tR8&yB3*nL6(cF1)"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # Read only what each test sets: no developer .env, no variables from the shell.
    monkeypatch.chdir(tmp_path)
    for name in ("APP_ENV", "AUTH_JWT_SECRET", "DATABASE_URL", "RATE_LIMIT_SIGNUP", "WEBHOOKS_ALLOW_PRIVATE_TARGETS"):
        monkeypatch.delenv(name, raising=False)


def test_local_defaults_need_no_configuration() -> None:
    settings = Settings()
    assert settings.app.env == "local"
    assert len(settings.jwt_signing_key) >= 32


@pytest.mark.parametrize("env", ["staging", "production"])
def test_outside_local_and_test_the_jwt_secret_is_required(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("APP_ENV", env)
    with pytest.raises(ValidationError, match="AUTH_JWT_SECRET is required"):
        Settings()


@pytest.mark.parametrize("weak", ["short", "a" * 64, "abcabcabcabcabcabcabcabcabcabcabc"])
def test_a_weak_jwt_secret_is_refused(monkeypatch: pytest.MonkeyPatch, weak: str) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("AUTH_JWT_SECRET", weak)
    with pytest.raises(ValidationError, match="AUTH_JWT_SECRET is too weak"):
        Settings()


def test_a_strong_jwt_secret_is_accepted_and_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("AUTH_JWT_SECRET", STRONG_SECRET)
    settings = Settings()
    assert settings.jwt_signing_key == STRONG_SECRET
    assert STRONG_SECRET not in repr(settings)


def test_private_webhook_targets_are_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("AUTH_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
    with pytest.raises(ValidationError, match="WEBHOOKS_ALLOW_PRIVATE_TARGETS"):
        Settings()


def test_database_url_must_use_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@localhost/service")
    with pytest.raises(ValidationError, match=r"postgresql\+asyncpg"):
        DatabaseSettings()


@pytest.mark.parametrize(
    ("text", "count", "window"), [("5/second", 5, 1), ("20/minute", 20, 60), ("100/hour", 100, 3600)]
)
def test_rates_are_read_from_text(monkeypatch: pytest.MonkeyPatch, text: str, count: int, window: int) -> None:
    monkeypatch.setenv("RATE_LIMIT_SIGNUP", text)
    rate = RateLimitSettings().signup
    assert (rate.count, rate.window_seconds) == (count, window)


@pytest.mark.parametrize("text", ["5", "0/minute", "5/fortnight", "five/minute", "5 per minute"])
def test_malformed_rates_are_refused(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("RATE_LIMIT_SIGNUP", text)
    with pytest.raises(ValidationError, match="is not a rate"):
        RateLimitSettings()


def test_allowed_hosts_are_read_as_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ALLOWED_HOSTS", '["api.example.com", "*.internal.example.com"]')
    assert AppSettings(_env_file=None).allowed_hosts == ["api.example.com", "*.internal.example.com"]
    assert AppSettings(_env_file=None, allowed_hosts=["localhost"]).tls_terminated_upstream is False
