"""Password hashing and tokens, below the HTTP layer (DEP-7, DEP-8, ASY-3)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable

import jwt
import pytest

from app.core.config import AuthSettings, Settings
from app.core.security import (
    InvalidTokenError,
    create_access_token,
    decode_access_token,
    hash_password,
    hash_refresh_token,
    new_refresh_token,
    verify_password,
    verify_password_of_nobody,
)

PRODUCTION_COST = AuthSettings(_env_file=None)


async def loop_turns_while(work: Awaitable[object]) -> int:
    """How many times the event loop ran other code while `work` was in flight.

    Work done inline in a coroutine finishes within its first step: zero turns.
    Work handed to a thread leaves the loop free: thousands of turns.
    """
    task = asyncio.ensure_future(work)
    await asyncio.sleep(0)
    turns = 0
    while not task.done():
        turns += 1
        await asyncio.sleep(0)
    await task
    return turns


async def test_hashing_and_verifying_leave_the_event_loop_free() -> None:
    stored = await hash_password("correct-horse-battery", PRODUCTION_COST)
    assert await loop_turns_while(hash_password("correct-horse-battery", PRODUCTION_COST)) > 10
    assert await loop_turns_while(verify_password("correct-horse-battery", stored, PRODUCTION_COST)) > 10
    assert await loop_turns_while(verify_password_of_nobody("correct-horse-battery", PRODUCTION_COST)) > 10


async def test_hashes_are_argon2id_and_verify() -> None:
    stored = await hash_password("correct-horse-battery", PRODUCTION_COST)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await verify_password("correct-horse-battery", stored, PRODUCTION_COST)
    assert not await verify_password("Correct-horse-battery", stored, PRODUCTION_COST)
    assert stored != await hash_password("correct-horse-battery", PRODUCTION_COST)  # salted


def test_access_tokens_round_trip(settings: Settings) -> None:
    user_id = uuid.uuid4()
    token = create_access_token(user_id=user_id, scopes=frozenset({"b", "a"}), credentials_version=3, settings=settings)
    claims = decode_access_token(token.token, settings)
    assert (claims.user_id, claims.scopes, claims.credentials_version) == (user_id, frozenset({"a", "b"}), 3)
    assert token.scopes == frozenset({"a", "b"})
    assert token.expires_in == settings.auth.access_token_ttl_seconds
    assert len(claims.token_id) == 32


def test_every_token_gets_its_own_id(settings: Settings) -> None:
    tokens = [
        create_access_token(user_id=uuid.uuid4(), scopes=frozenset(), credentials_version=1, settings=settings)
        for _ in range(2)
    ]
    ids = {decode_access_token(token.token, settings).token_id for token in tokens}
    assert len(ids) == 2


def test_a_token_from_another_deployment_is_refused(settings: Settings) -> None:
    token = create_access_token(user_id=uuid.uuid4(), scopes=frozenset(), credentials_version=1, settings=settings)
    other = settings.model_copy(update={"auth": settings.auth.model_copy(update={"jwt_audience": "other-api"})})
    with pytest.raises(InvalidTokenError, match="Audience"):  # the reason is kept for whoever debugs it
        decode_access_token(token.token, other)


@pytest.mark.parametrize("claim", [{"ver": True}, {"scope": ["users:read"]}], ids=["ver a boolean", "scope a list"])
def test_claims_of_the_wrong_type_are_refused(settings: Settings, claim: dict[str, object]) -> None:
    token = create_access_token(user_id=uuid.uuid4(), scopes=frozenset(), credentials_version=1, settings=settings)
    key, audience = settings.jwt_signing_key, settings.auth.jwt_audience
    claims = jwt.decode(token.token, key, algorithms=["HS256"], audience=audience)
    with pytest.raises(InvalidTokenError, match=r"^malformed claims$"):
        decode_access_token(jwt.encode({**claims, **claim}, key, algorithm="HS256"), settings)


def test_tokens_are_signed_with_the_configured_algorithm_and_only_it_is_accepted(settings: Settings) -> None:
    hs512 = settings.model_copy(update={"auth": settings.auth.model_copy(update={"jwt_algorithm": "HS512"})})
    token = create_access_token(user_id=uuid.uuid4(), scopes=frozenset(), credentials_version=1, settings=hs512)
    assert jwt.get_unverified_header(token.token)["alg"] == "HS512"
    assert decode_access_token(token.token, hs512).credentials_version == 1
    with pytest.raises(InvalidTokenError):
        decode_access_token(token.token, settings)


def test_refresh_tokens_are_random_and_stored_as_sha256() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(first) >= 43  # 32 random bytes
    assert hash_refresh_token(first) == hash_refresh_token(first)
    assert len(hash_refresh_token(first)) == 64
    assert first not in hash_refresh_token(first)
