"""Which errors mean "the database is unavailable, try again" (503) and which stay real
faults (500): the classification must not swallow bugs."""

from __future__ import annotations

import sqlite3

import pytest
from asyncpg import exceptions as pg

from core.db.engine import database_unavailable


def chained(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__context__ = inner
    return outer


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CannotConnectNowError("the database system is starting up"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.InvalidAuthorizationSpecificationError('role "app" is not permitted to log in'),
        pg.InterfaceError(
            "cannot call Transaction.rollback(): the underlying connection is closed"
        ),
        pg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
        sqlite3.OperationalError("database is locked"),
        # Piccolo's failed ROLLBACK on top of the real cause.
        chained(ValueError("rollback failed"), pg.AdminShutdownError("terminating")),
    ],
)
def test_unavailable(exc: BaseException) -> None:
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bug"),
        KeyError("x"),
        pg.UniqueViolationError("duplicate key value violates unique constraint"),
        pg.UndefinedColumnError('column "x" does not exist'),
        pg.InterfaceError("cannot perform operation: another operation is in progress"),
        pg.DataError("invalid input for query argument $1"),
        sqlite3.OperationalError("no such table: x"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
    ],
)
def test_real_faults_stay_faults(exc: BaseException) -> None:
    assert not database_unavailable(exc)


def test_a_cycle_in_the_chain_ends() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert not database_unavailable(a)
