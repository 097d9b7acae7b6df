"""Swapping the settings a running app sees, through `dependency_overrides` (TST-4)."""

from __future__ import annotations

from fastapi import FastAPI

from app.api.deps import get_settings
from app.core.config import Settings


def override_settings(app: FastAPI, settings: Settings, **groups: object) -> Settings:
    """From now until the test ends (overrides are cleared after each test), requests see these settings."""
    changed = settings.model_copy(update=groups)

    async def changed_settings() -> Settings:
        return changed

    app.dependency_overrides[get_settings] = changed_settings
    return changed
