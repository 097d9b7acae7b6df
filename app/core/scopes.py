"""The OAuth2 scopes this API grants, with the text Swagger's Authorize dialog shows."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    POSTS_WRITE = "posts:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    Scope.POSTS_WRITE: "Create, edit and delete your own posts.",
    Scope.USERS_READ: "Read every user's account (administrators).",
    Scope.USERS_WRITE: "Change any user's account, scopes and status (administrators).",
}

# What a person who signs up may do; administrators are made with the CLI.
DEFAULT_USER_SCOPES: tuple[Scope, ...] = (Scope.POSTS_WRITE,)
SUPERUSER_SCOPES: tuple[Scope, ...] = (Scope.POSTS_WRITE, Scope.USERS_READ, Scope.USERS_WRITE)


def parse_scope_parameter(value: str | None) -> set[str]:
    """The OAuth2 `scope` parameter: space-separated names (RFC 6749 §3.3)."""
    return set(value.split()) if value else set()
