"""Versioned schema upgrades, applied on open.

Why not Alembic: the schema is owned by one embedded app, FTS5 virtual tables and triggers are
outside what autogenerate understands, and an upgrade must run inside the user's process with
no config files beside the database. So each version is frozen DDL (plus an optional Python
step) and `PRAGMA user_version` records where a database stands. Each step runs in its own
transaction (SQLite DDL is transactional), so a crash mid-upgrade leaves the previous version.
Never edit a released step: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class SchemaTooNew(RuntimeError):
    """The database was written by a newer tui-desk; opening it would risk data loss."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sql: str
    python: Callable[[sqlite3.Connection], None] | None = None


V1_SQL = """
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    special_use TEXT NOT NULL DEFAULT '',
    uidvalidity INTEGER,
    uidnext INTEGER,
    highestmodseq INTEGER,
    last_sync DATETIME,
    UNIQUE (account_id, name)
);
CREATE INDEX ix_folders_account_id ON folders(account_id);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    folder_id INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    uid INTEGER,
    message_id TEXT NOT NULL,
    message_id_synthetic BOOLEAN NOT NULL DEFAULT 0,
    in_reply_to TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    from_name TEXT NOT NULL DEFAULT '',
    from_addr TEXT NOT NULL DEFAULT '',
    to_addrs TEXT NOT NULL DEFAULT '[]',
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    reply_to TEXT NOT NULL DEFAULT '[]',
    date DATETIME NOT NULL,
    date_source TEXT NOT NULL DEFAULT 'header',
    internaldate DATETIME,
    flags TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL DEFAULT '',
    html_text TEXT NOT NULL DEFAULT '',
    snippet TEXT NOT NULL DEFAULT '',
    has_attachments BOOLEAN NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    auto_submitted TEXT NOT NULL DEFAULT '',
    list_id TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '{}',
    problems TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT '',
    body_parsed BOOLEAN NOT NULL DEFAULT 1,
    removed BOOLEAN NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL
);
CREATE INDEX ix_messages_account_id ON messages(account_id);
CREATE UNIQUE INDEX ux_messages_folder_uid ON messages(folder_id, uid) WHERE uid IS NOT NULL;
CREATE INDEX ix_messages_message_id ON messages(message_id);
CREATE INDEX ix_messages_from_addr ON messages(from_addr);
CREATE INDEX ix_messages_date ON messages(date);
CREATE INDEX ix_messages_content_hash ON messages(content_hash);
CREATE TABLE message_raw (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    compression TEXT NOT NULL DEFAULT 'zlib',
    data BLOB NOT NULL
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    original_filename TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    size INTEGER NOT NULL DEFAULT 0,
    part_path TEXT NOT NULL DEFAULT '',
    content_id TEXT NOT NULL DEFAULT '',
    inline BOOLEAN NOT NULL DEFAULT 0
);
CREATE INDEX ix_attachments_message_id ON attachments(message_id);
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    first_seen DATETIME NOT NULL,
    last_seen DATETIME NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0
);
-- Full-text index over the messages table (external content: no second copy of the text).
-- unicode61 folds case in every script (Cyrillic included); remove_diacritics 2 lets
-- "racun" find "račun" as well.
CREATE VIRTUAL TABLE message_fts USING fts5(
    subject, from_name, from_addr, text,
    content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
    INSERT INTO message_fts(rowid, subject, from_name, from_addr, text)
    VALUES (new.id, new.subject, new.from_name, new.from_addr, new.text);
END;
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
    INSERT INTO message_fts(message_fts, rowid, subject, from_name, from_addr, text)
    VALUES ('delete', old.id, old.subject, old.from_name, old.from_addr, old.text);
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, from_name, from_addr, text ON messages BEGIN
    INSERT INTO message_fts(message_fts, rowid, subject, from_name, from_addr, text)
    VALUES ('delete', old.id, old.subject, old.from_name, old.from_addr, old.text);
    INSERT INTO message_fts(rowid, subject, from_name, from_addr, text)
    VALUES (new.id, new.subject, new.from_name, new.from_addr, new.text);
END;
"""

MIGRATIONS: list[Migration] = [
    Migration(1, "accounts, folders, messages, raw bytes, attachments, contacts, FTS5", V1_SQL),
]

LATEST = MIGRATIONS[-1].version


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


def upgrade(conn: sqlite3.Connection, *, target: int | None = None, path: Path | None = None) -> list[int]:
    """Bring the schema to `target`; returns the versions applied.

    `conn` must be a plain sqlite3 connection in autocommit mode (isolation_level=None) so each
    step controls its own transaction. When `path` is given and the database already holds a
    schema, it is backed up first.
    """
    latest = MIGRATIONS[-1].version
    target = latest if target is None else target
    have = current_version(conn)
    if have > latest:
        raise SchemaTooNew(
            f"this database has schema version {have}, but this tui-desk only knows up to {latest}; "
            "upgrade tui-desk (the database was left untouched)"
        )
    pending = [m for m in MIGRATIONS if have < m.version <= target]
    if pending and have > 0 and path is not None:
        backup(conn, path, have)
    for step in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(step.sql):
                conn.execute(statement)
            if step.python is not None:
                step.python(conn)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return [m.version for m in pending]


def _split_sql(script: str) -> list[str]:
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
