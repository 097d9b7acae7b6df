"""The token primitives: random secrets, their stored digest, and telling a PAT from a JWT."""

from __future__ import annotations

import hashlib
import re
import uuid

from sqlalchemy import CheckConstraint

from app.core.config import AppSettings, Environment, Settings
from app.core.security import create_access_token
from app.core.tokens import (
    PAT_MARKER,
    TOKEN_BYTES,
    TokenPurpose,
    digest,
    is_personal_access_token,
    new_personal_access_token,
    new_secret,
    pat_prefix,
)
from app.models.account_token import AccountToken

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def test_secrets_carry_at_least_32_random_bytes() -> None:
    assert TOKEN_BYTES >= 32
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert URL_SAFE.match(secret)
        assert len(secret) >= 43  # 32 bytes in unpadded base64url


def test_the_digest_is_hex_sha256() -> None:
    assert digest("abc") == hashlib.sha256(b"abc").hexdigest()
    assert len(digest(new_secret())) == 64
    assert digest("abc") != digest("abd")


def test_the_prefix_follows_the_service_name() -> None:
    assert PAT_MARKER == "_pat_"
    assert pat_prefix("service") == "service_pat_"
    assert pat_prefix("orders-api") == "orders_api_pat_"
    # One setting names the service (scripts/rename.py rewrites its default): the prefix follows it.
    assert pat_prefix(AppSettings(_env_file=None).name) == "service_pat_"


def test_a_new_token_is_the_prefix_and_a_secret() -> None:
    token = new_personal_access_token("orders-api")
    assert token.startswith("orders_api_pat_")
    secret = token.removeprefix("orders_api_pat_")
    assert len(secret) >= 43
    assert URL_SAFE.match(secret)
    assert new_personal_access_token("orders-api") != token


def test_personal_access_tokens_and_jwts_are_told_apart() -> None:
    settings = Settings(app=AppSettings(_env_file=None, env=Environment.TEST))
    jwt = create_access_token(user_id=uuid.uuid4(), scopes=frozenset(), credentials_version=1, settings=settings).token
    pat = new_personal_access_token("service")
    assert is_personal_access_token(pat, "service")
    assert not is_personal_access_token(jwt, "service")
    assert not is_personal_access_token(pat, "other")  # another service's token is not ours
    assert not is_personal_access_token("service_pat_abc.def", "service")  # dots belong to JWTs
    assert not is_personal_access_token("xservice_pat_abc", "service")
    assert is_personal_access_token("service_pat_", "service")  # a bare prefix is a (bad) PAT, not a JWT


def test_every_purpose_is_allowed_by_the_table() -> None:
    [constraint] = AccountToken.__table_args__
    assert isinstance(constraint, CheckConstraint)
    text = str(constraint.sqltext)
    for purpose in TokenPurpose:
        assert f"'{purpose.value}'" in text
    assert {purpose.value for purpose in TokenPurpose} == {"verify_email", "reset_password"}
