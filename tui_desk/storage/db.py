"""The SQLite engine: WAL, foreign keys, explicit transactions, schema upgraded on open.

Nothing here runs at import time: an engine is made by `Database.open(path)` from whoever
owns the data directory (CLI, app factory, tests), so two tests never share a database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlmodel import Session

from tui_desk.storage import migrations

DB_FILENAME = "tui-desk.db"
_DB_TIME = "%Y-%m-%d %H:%M:%S.%f"


def to_db_time(value: datetime | None) -> str | None:
    """Store every moment as naive UTC text in SQLAlchemy's own SQLite format, so raw-SQL and
    ORM writes sort and compare alike."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")  # == strftime(_DB_TIME), several times faster


def from_db_time(value: str | datetime | None) -> datetime | None:
    """The inverse of `to_db_time`: an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = value if "." in value else value + ".000000"
    return datetime.strptime(text[:26], _DB_TIME).replace(tzinfo=UTC)


def _configure(dbapi_connection: sqlite3.Connection) -> None:
    # We issue BEGIN ourselves (see Database.__init__): pysqlite's implicit transactions
    # begin too late for SAVEPOINTs and never use BEGIN IMMEDIATE for writers.
    dbapi_connection.isolation_level = None
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA busy_timeout=15000",
        "PRAGMA temp_store=MEMORY",
        "PRAGMA cache_size=-32000",
    ):
        dbapi_connection.execute(pragma)


class Database:
    """One SQLite file: its engine, and the two ways into it (ORM sessions and raw writes)."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            _configure(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

    @classmethod
    def open(cls, path: Path | str) -> Database:
        """Open (creating if needed) and upgrade the database at `path`.

        Raises `migrations.SchemaTooNew` for a database from a newer tui-desk, and
        `sqlite3.DatabaseError` for a file that is not a database: callers report both plainly.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            _configure(raw)
            migrations.upgrade(raw, path=path)
        finally:
            raw.close()
        engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
        return cls(path, engine)

    @classmethod
    def in_dir(cls, data_dir: Path | str) -> Database:
        return cls.open(Path(data_dir) / DB_FILENAME)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction taken with BEGIN IMMEDIATE: a writer waits for the lock up front
        instead of failing with SQLITE_BUSY halfway through (the classic WAL upgrade deadlock)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for a whole screenful of queries."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def cursor(conn: Connection) -> sqlite3.Cursor:
    """The sqlite3 cursor under a SQLAlchemy connection, for the hot bulk paths (sync, import)
    where the ORM's per-row overhead would dominate. Stays inside the caller's transaction."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver.cursor()
