"""Database failures in the terms of ``bot.errors``.

A failure to reach or use the server (connection refused or dropped, bad
credentials, a server out of resources or shutting down, a database that does
not exist, no pooled connection free in time) becomes ``StorageUnavailable``:
the core tells the user nothing was changed and to try again. Every store
method is wrapped in :func:`guarded` for that.

A lock timeout (SQLite) or a serialization failure or deadlock (PostgreSQL) is
:func:`retryable`: the write transaction is simply run again.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import exc

from bot.errors import ParleyError, StorageUnavailable

_P = ParamSpec("_P")
_T = TypeVar("_T")

# SQLSTATE classes that mean "cannot reach or use the server right now": connection
# exception, invalid authorization, insufficient resources, operator intervention.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "53", "57"})
_UNAVAILABLE_SQLSTATES = frozenset({"3D000"})  # the database does not exist
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def _unavailable(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, exc.OperationalError | exc.InterfaceError)
            or _unavailable_cause(error.orig)
        )
    # exc.TimeoutError: no pooled connection came free in time.
    return isinstance(error, exc.TimeoutError) or _unavailable_cause(error)


def _unavailable_cause(error: BaseException | None) -> bool:
    # SQLAlchemy's asyncpg adapter wraps asyncpg's exception: look through the chain.
    for _ in range(5):
        if error is None:
            return False
        if isinstance(error, OSError):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        error = error.__cause__
    return False


def guarded(
    method: Callable[_P, Awaitable[_T]],
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """Turn connection-level failures of ``method`` into ``StorageUnavailable``."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except ParleyError:
            raise
        except Exception as error:
            if _unavailable(error):
                raise StorageUnavailable(f"database unavailable: {error}") from error
            raise

    return wrapper


def retryable(error: exc.DBAPIError) -> bool:
    """Whether running the same write transaction again may succeed."""
    if isinstance(error, exc.OperationalError) and "locked" in str(error.orig).lower():
        return True  # SQLite: busy_timeout ran out
    return getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES
