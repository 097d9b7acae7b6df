"""Administrative commands: `uv run python -m app.cli --help`.

    uv run python -m app.cli create-superuser admin@example.com

The password is read from standard input (a prompt on a terminal, a line when
piped), never from the command line, where it would land in shell history and
in every `ps` listing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import TypeAdapter, ValidationError

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.db.engine import create_engine, create_session_factory
from app.db.session import unit_of_work
from app.schemas.users import Password, UserBase
from app.services import users as users_service


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            raise SystemExit("The passwords do not match.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def create_superuser(settings: Settings, email: str, name: str, password: str) -> str:
    engine = create_engine(settings.database, application_name=f"{settings.app.name}-cli")
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            user, created = await users_service.ensure_superuser(
                session, email=email, name=name, password=password, settings=settings.auth
            )
    finally:
        await engine.dispose()
    if created:
        return f"Created superuser {user.email} ({user.id})."
    return f"A user with the e-mail {user.email} already exists; nothing was changed."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.cli", description="Administrative commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    superuser = commands.add_parser(
        "create-superuser", help="Create an administrator; the password is read from stdin."
    )
    superuser.add_argument("email")
    superuser.add_argument("--name", default="Administrator")
    args = parser.parse_args(argv)

    settings = get_settings()
    configure_logging(settings.app.env, "WARNING")
    try:
        identity = UserBase(email=args.email, name=args.name)
        password = TypeAdapter(Password).validate_python(read_password())
    except ValidationError as exc:
        # Messages only: the input (possibly the password) is never printed.
        reasons = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'password'}: {error['msg']}" for error in exc.errors()
        )
        parser.exit(2, f"Invalid input: {reasons}\n")
    sys.stdout.write(asyncio.run(create_superuser(settings, identity.email, identity.name, password)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
