""".env.example lists every setting, and as written it is a valid local configuration (API-7, SPEC §2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from app.core.config import Settings

ENV_EXAMPLE = Path(".env.example")


def documented_variables() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def settings_variables() -> set[str]:
    names = set()
    for group in Settings.model_fields.values():
        assert isinstance(group.annotation, type)
        assert issubclass(group.annotation, BaseSettings)
        prefix = group.annotation.model_config.get("env_prefix", "")
        for name, field in group.annotation.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def test_every_setting_is_documented_and_nothing_else() -> None:
    assert set(documented_variables()) == settings_variables()


def test_the_example_as_written_is_a_valid_local_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    for name in settings_variables():
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.app.env == "local"
    assert settings.rate_limit.signup.count == 5
    assert settings.auth.jwt_secret is None  # blank means unset: the local development key is used
