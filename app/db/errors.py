"""Recognising database failures by what they mean, not by driver class names."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# SQLSTATE codes: https://www.postgresql.org/docs/current/errcodes-appendix.html
_UNIQUE_VIOLATIONS = frozenset({"23505", "23P01"})  # unique_violation, exclusion_violation
_UNAVAILABLE_STATES = frozenset(
    {
        "57014",  # query_canceled: statement_timeout fired
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now
        "53300",  # too_many_connections
        "40P01",  # deadlock_detected: retrying later is the right answer
    }
)


def sqlstate(error: sa_exc.DBAPIError) -> str | None:
    state = getattr(error.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_unique_violation(error: BaseException) -> bool:
    return isinstance(error, sa_exc.IntegrityError) and sqlstate(error) in _UNIQUE_VIOLATIONS


def violated_constraint(error: sa_exc.IntegrityError) -> str | None:
    """The name of the violated constraint (named by the MetaData convention), if the driver reports it."""
    name = getattr(getattr(error.orig, "__cause__", None), "constraint_name", None)
    return name if isinstance(name, str) else None


def is_database_unavailable(error: BaseException) -> bool:
    """True when the failure says "the database cannot serve now", so retrying later may succeed."""
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(error, sa_exc.DBAPIError):
        state = sqlstate(error)
        if error.connection_invalidated or state in _UNAVAILABLE_STATES:
            return True
        if state is not None and state.startswith("08"):  # connection_exception class
            return True
        return isinstance(error, sa_exc.InterfaceError | sa_exc.OperationalError) and state is None
    # asyncpg raises plain OSError subclasses while connecting, and TimeoutError on connect timeout.
    return isinstance(error, ConnectionError | TimeoutError)


def is_invalid_data(error: BaseException) -> bool:
    """True when PostgreSQL refused a value the client sent (SQLSTATE class 22, data_exception).

    A NUL in text, a number out of range, an impossible date: the request is at fault, not the server.
    """
    if isinstance(error, sa_exc.DBAPIError):
        state = sqlstate(error)
        return state is not None and state.startswith("22")
    return False
