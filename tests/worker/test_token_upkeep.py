"""The hourly upkeep deletes one-time tokens and personal access tokens past their expiry, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.mail import SmtpMailer
from app.core.tokens import TokenPurpose, digest, new_secret
from app.models.account_token import AccountToken
from app.models.personal_access_token import PersonalAccessToken
from app.resources import Resources
from app.worker.context import CONTEXT_KEY, WorkerContext
from app.worker.upkeep import delete_expired_records
from tests.support.factories import create_user


def worker_ctx(settings: Settings, resources: Resources) -> dict[str, Any]:
    return {CONTEXT_KEY: WorkerContext(settings=settings, resources=resources, mailer=SmtpMailer(settings.smtp))}


async def test_expired_tokens_are_deleted_and_live_ones_kept(
    db_session: AsyncSession, settings: Settings, resources: Resources
) -> None:
    owner = (await create_user(db_session, settings)).user
    now = datetime.now(UTC)
    for expires_at in (now - timedelta(minutes=1), now + timedelta(hours=1)):
        db_session.add(
            AccountToken(
                user_id=owner.id,
                purpose=TokenPurpose.VERIFY_EMAIL.value,
                token_hash=digest(new_secret()),
                credentials_version=1,
                email=owner.email,
                expires_at=expires_at,
            )
        )
        db_session.add(
            PersonalAccessToken(
                user_id=owner.id, name="t", token_hash=digest(new_secret()), scopes=[], expires_at=expires_at
            )
        )
    await db_session.commit()

    counts = await delete_expired_records(worker_ctx(settings, resources))
    assert (counts["account_tokens"], counts["personal_access_tokens"]) == (1, 1)
    [kept_link] = await db_session.scalars(select(AccountToken))
    [kept_token] = await db_session.scalars(select(PersonalAccessToken))
    assert kept_link.expires_at > now
    assert kept_token.expires_at > now
    # Nothing left to delete: the counts say so.
    again = await delete_expired_records(worker_ctx(settings, resources))
    assert (again["account_tokens"], again["personal_access_tokens"]) == (0, 0)
