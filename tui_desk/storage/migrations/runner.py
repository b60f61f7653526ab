"""Applies the schema versions in order, each in its own transaction.

Why not Alembic: the schema is owned by one embedded app, FTS5 virtual tables and triggers are
outside what autogenerate understands, and an upgrade must run inside the user's process with
no config files beside the database. So each version is frozen DDL (plus an optional Python
step) in its own `vNNN_*.py` module, and `PRAGMA user_version` records where a database stands.
Each step runs in its own transaction (SQLite DDL is transactional), so a crash mid-upgrade
leaves the previous version. Never edit a released step: add a new module to `STEPS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from tui_desk.storage.migrations import (
    v001_base,
    v002_tickets,
    v003_sync,
    v004_replies,
    v005_fts_batches,
    v006_keywords,
    v007_compaction,
    v008_composing_events,
)
from tui_desk.storage.migrations.step import Migration


class SchemaTooNew(RuntimeError):
    """The database was written by a newer tui-desk; opening it would risk data loss."""


STEPS = (v001_base, v002_tickets, v003_sync, v004_replies, v005_fts_batches, v006_keywords, v007_compaction,
         v008_composing_events)
MIGRATIONS: list[Migration] = [module.MIGRATION for module in STEPS]
LATEST = MIGRATIONS[-1].version


def _check_order(steps: Sequence[Migration]) -> None:
    """Versions must be 1, 2, 3 ... with no gap: a gap would make `user_version` skip a step."""
    versions = [m.version for m in steps]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"schema versions out of order: {versions}")


_check_order(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the database aside before changing its schema, so an upgrade can never lose data."""
    target = path.with_name(f"{path.name}.v{version}.bak")
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


def upgrade(
    conn: sqlite3.Connection,
    *,
    target: int | None = None,
    path: Path | None = None,
    steps: Sequence[Migration] | None = None,
) -> list[int]:
    """Bring the schema to `target`; returns the versions applied.

    `conn` must be a plain sqlite3 connection in autocommit mode (isolation_level=None) so each
    step controls its own transaction. When `path` is given and the database already holds a
    schema, it is backed up first. `steps` replaces the released list (tests use it to add a
    step that fails).
    """
    steps = MIGRATIONS if steps is None else steps
    _check_order(steps)
    latest = steps[-1].version
    target = latest if target is None else target
    have = current_version(conn)
    if have > latest:
        raise SchemaTooNew(
            f"this database has schema version {have}, but this tui-desk only knows up to {latest}; "
            "upgrade tui-desk (the database was left untouched)"
        )
    pending = [m for m in steps if have < m.version <= target]
    if pending and have > 0 and path is not None:
        backup(conn, path, have)
    for step in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in split_sql(step.sql):
                conn.execute(statement)
            if step.python is not None:
                step.python(conn)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return [m.version for m in pending]


def split_sql(script: str) -> list[str]:
    """Split a DDL script into statements; `sqlite3.complete_statement` keeps trigger bodies whole."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
