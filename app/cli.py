"""Administrative commands: `uv run python -m app.cli --help`.

    uv run python -m app.cli create-database
    uv run python -m app.cli create-superuser admin@example.com
    uv run python -m app.cli promote someone@example.com

The password is read from standard input (a prompt on a terminal, a line when
piped), never from the command line, where it would land in shell history and
in every `ps` listing.

Exit status: 0 done (or nothing to do), 1 the command could not do it (no such
account, no database server), 2 invalid input.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import TypeAdapter, ValidationError

from app.core.config import Settings, get_settings
from app.core.errors import NotFound
from app.core.logging import configure_logging
from app.db.bootstrap import create_database, missing_database_message
from app.db.engine import create_engine, create_session_factory
from app.db.session import unit_of_work
from app.schemas.users import Email, Password, UserBase
from app.services import users as users_service

EXIT_FAILED = 1
EXIT_INVALID_INPUT = 2


class CommandFailed(Exception):
    """The command could not do what was asked; the message says why, for a person to read."""


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
    return (
        f"A user with the e-mail {user.email} already exists; nothing was changed. "
        f"To make it an administrator: python -m app.cli promote {user.email}"
    )


async def promote(settings: Settings, email: str) -> str:
    engine = create_engine(settings.database, application_name=f"{settings.app.name}-cli")
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            user, changed = await users_service.promote_to_superuser(session, email=email)
    except NotFound as exc:
        raise CommandFailed(f"No account uses the e-mail {email}; sign up first, or use create-superuser.") from exc
    finally:
        await engine.dispose()
    if not changed:
        return f"{user.email} is already an administrator; nothing was changed."
    # Scopes travel inside access tokens: the ones issued before now keep the old scopes.
    return f"{user.email} is now an administrator. Sign in again to get a token with the new scopes."


async def create_the_database(settings: Settings) -> str:
    try:
        created = await create_database(settings.database)
    except OSError as exc:
        raise CommandFailed(missing_database_message(exc, str(settings.database.url)) or str(exc)) from exc
    name = settings.database.url.path.lstrip("/") if settings.database.url.path else ""
    if created:
        return f'Created the database "{name}". Next: uv run alembic upgrade head'
    return f'The database "{name}" already exists; nothing was changed.'


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m app.cli", description="Administrative commands.")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "create-database", help="Create the database DATABASE_URL names, if it does not exist (before migrating)."
    )
    superuser = commands.add_parser(
        "create-superuser", help="Create an administrator; the password is read from stdin."
    )
    superuser.add_argument("email")
    superuser.add_argument("--name", default="Administrator")
    promoted = commands.add_parser("promote", help="Make an existing account an administrator.")
    promoted.add_argument("email")
    return root


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.app.env, "WARNING")
    try:
        if arguments.command == "create-database":
            message = asyncio.run(create_the_database(settings))
        elif arguments.command == "promote":
            email = TypeAdapter(Email).validate_python(arguments.email)
            message = asyncio.run(promote(settings, email))
        else:
            identity = UserBase(email=arguments.email, name=arguments.name)
            password = TypeAdapter(Password).validate_python(read_password())
            message = asyncio.run(create_superuser(settings, identity.email, identity.name, password))
    except ValidationError as exc:
        # Messages only: the input (possibly the password) is never printed.
        # A bare value (no field name in `loc`) is the password, or the e-mail for `promote`.
        bare = "email" if arguments.command == "promote" else "password"
        reasons = "; ".join(f"{'.'.join(map(str, error['loc'])) or bare}: {error['msg']}" for error in exc.errors())
        sys.stderr.write(f"Invalid input: {reasons}\n")
        return EXIT_INVALID_INPUT
    except CommandFailed as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_FAILED
    sys.stdout.write(message + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
