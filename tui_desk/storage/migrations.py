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

# Tickets. The public id (`ref`, "T-" + Crockford base32 of sha256(root Message-ID)) is the same on
# every agent's machine; the integer `id` is local. A ticket that was merged away (by an agent
# or because threading found two halves of one conversation) stays as a row with `merged_into`
# set, so its old ref keeps resolving. `hidden` = merged away or no messages yet (a stub made
# by a team event that arrived before its mail); every list index is partial on hidden = 0.
V2_SQL = """
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    root TEXT NOT NULL DEFAULT '',
    root_pinned BOOLEAN NOT NULL DEFAULT 0,
    subject TEXT NOT NULL DEFAULT '',
    subject_key TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'new',
    priority INTEGER NOT NULL DEFAULT 1,
    assignee TEXT NOT NULL DEFAULT '',
    requester_addr TEXT NOT NULL DEFAULT '',
    requester_name TEXT NOT NULL DEFAULT '',
    requester_domain TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    last_message_at DATETIME,
    first_response_at DATETIME,
    solved_at DATETIME,
    snippet TEXT NOT NULL DEFAULT '',
    unread BOOLEAN NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    automatic BOOLEAN NOT NULL DEFAULT 0,
    claimed_tag TEXT NOT NULL DEFAULT '',
    merged_into INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    follow_up_of INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    split_from INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    hidden BOOLEAN NOT NULL DEFAULT 1
);
CREATE INDEX ix_tickets_updated ON tickets(updated_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_created ON tickets(created_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_status ON tickets(status, updated_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_assignee ON tickets(assignee, status, updated_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_priority ON tickets(priority, updated_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_status_priority ON tickets(status, priority, updated_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_assignee_priority ON tickets(assignee, priority, updated_at, id) WHERE hidden = 0;
CREATE INDEX ix_tickets_unread ON tickets(updated_at, id) WHERE hidden = 0 AND unread = 1;
CREATE INDEX ix_tickets_requester ON tickets(requester_addr, subject_key) WHERE hidden = 0;
CREATE INDEX ix_tickets_requester_domain ON tickets(requester_domain) WHERE hidden = 0;
CREATE INDEX ix_tickets_merged_into ON tickets(merged_into) WHERE merged_into IS NOT NULL;
CREATE TABLE ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
) WITHOUT ROWID;
CREATE INDEX ix_ticket_tags_tag ON ticket_tags(tag, ticket_id);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL UNIQUE,
    hlc TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX ix_notes_ticket_id ON notes(ticket_id, hlc);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    event_id TEXT,
    hlc TEXT NOT NULL DEFAULT '',
    at DATETIME NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    field TEXT NOT NULL,
    old TEXT NOT NULL DEFAULT '',
    new TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_ticket_id ON audit(ticket_id, at);
-- Team state travels as events (see tickets/events.py); this is the local log of them.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    ticket TEXT NOT NULL,
    field TEXT NOT NULL,
    op TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT '',
    hlc TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    pushed BOOLEAN NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL
);
CREATE INDEX ix_events_ticket ON events(ticket, hlc);
CREATE INDEX ix_events_hlc ON events(hlc);
CREATE INDEX ix_events_unpushed ON events(id) WHERE pushed = 0;
CREATE INDEX ix_events_split ON events(json_extract(value, '$.message_id')) WHERE field = 'split';
CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    query TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    builtin BOOLEAN NOT NULL DEFAULT 0
);
INSERT INTO saved_views (name, query, position, builtin) VALUES
    ('New', 'status:new', 1, 1),
    ('My open', 'assignee:me status:new,open', 2, 1),
    ('Unassigned', 'assignee:none -status:solved,closed', 3, 1),
    ('Pending', 'status:pending', 4, 1),
    ('On hold', 'status:on-hold', 5, 1),
    ('Solved', 'status:solved', 6, 1);
-- Every Message-ID a ticket has seen (its messages' own ids and the ids they reference), for
-- JWZ-style threading; `key_ref` is the ticket ref that id would give, so a team event about
-- a ticket known elsewhere under another root still finds it here.
CREATE TABLE thread_keys (
    msgid TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    key_ref TEXT NOT NULL,
    PRIMARY KEY (msgid, ticket_id)
) WITHOUT ROWID;
CREATE INDEX ix_thread_keys_ticket ON thread_keys(ticket_id);
CREATE INDEX ix_thread_keys_ref ON thread_keys(key_ref);
CREATE TABLE agents (
    address TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);
ALTER TABLE messages ADD COLUMN ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL;
ALTER TABLE messages ADD COLUMN thread_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN duplicate_of INTEGER;
ALTER TABLE messages ADD COLUMN ours BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX ix_messages_ticket_id ON messages(ticket_id, date);
CREATE INDEX ix_messages_unthreaded ON messages(id) WHERE thread_kind = '';
"""

# Sync bookkeeping: messages set aside so one bad mail never blocks a folder, local flag changes
# waiting to be pushed to the server, and each account's online/offline state with its reason.
V3_SQL = """
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    raw BLOB,
    created_at DATETIME NOT NULL,
    UNIQUE (folder_id, uid)
);
CREATE TABLE flag_ops (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    add_flags TEXT NOT NULL DEFAULT '',
    remove_flags TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX ix_flag_ops_message_id ON flag_ops(message_id);
CREATE TABLE sync_status (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    updated_at DATETIME NOT NULL
);
CREATE INDEX ix_messages_folder_present ON messages(folder_id, removed) WHERE uid IS NOT NULL;
"""

# Replies: drafts saved as the agent types, the outbox queue (raw message stored before any
# SMTP attempt, see tickets/outbox.py for the exactly-once rules), canned templates, and
# "agent X is answering ticket T" marks for collision warnings.
V4_SQL = """
CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL DEFAULT '',
    ticket_ref TEXT NOT NULL DEFAULT '',
    mode TEXT NOT NULL DEFAULT 'reply',
    agent TEXT NOT NULL DEFAULT '',
    to_addrs TEXT NOT NULL DEFAULT '[]',
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    quote BOOLEAN NOT NULL DEFAULT 1,
    quoted TEXT NOT NULL DEFAULT '',
    signature TEXT NOT NULL DEFAULT '',
    attachments TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL,
    in_reply_to TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    template TEXT NOT NULL DEFAULT '',
    opened_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX ix_drafts_ticket_ref ON drafts(ticket_ref, updated_at);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    ticket_ref TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT '',
    draft TEXT NOT NULL DEFAULT '{}',
    message_id TEXT NOT NULL UNIQUE,
    mail_from TEXT NOT NULL,
    rcpts TEXT NOT NULL DEFAULT '[]',
    self_copy BOOLEAN NOT NULL DEFAULT 0,
    raw BLOB NOT NULL,
    set_status TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued',
    stage TEXT NOT NULL DEFAULT '',
    filed BOOLEAN NOT NULL DEFAULT 0,
    error_kind TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    sent_at DATETIME
);
CREATE INDEX ix_outbox_state ON outbox(state, next_attempt_at, id);
CREATE TABLE templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    tags TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    builtin BOOLEAN NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    updated_at DATETIME NOT NULL
);
CREATE TABLE composing (
    ticket_ref TEXT NOT NULL,
    agent TEXT NOT NULL,
    since DATETIME NOT NULL,
    seen_at DATETIME NOT NULL,
    PRIMARY KEY (ticket_ref, agent)
) WITHOUT ROWID;
"""

# FTS rows are written by the code that inserts messages (`storage.messages`), one statement per
# batch: the per-row trigger cost about a third of a big first sync. Updates and deletes keep
# their triggers (rare, and a forgotten one would silently corrupt the index).
V5_SQL = """
DROP TRIGGER messages_fts_ai;
"""

# Status mirrored as IMAP keywords ($TuiDesk-pending ...) so other mail clients see it: a trigger
# remembers which tickets changed status, so the mirroring work grows with the changes, never
# with the mailbox.
V6_SQL = """
CREATE TABLE keyword_dirty (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE
);
CREATE TRIGGER tickets_status_keyword AFTER UPDATE OF status ON tickets
WHEN new.status != old.status BEGIN
    INSERT OR IGNORE INTO keyword_dirty (ticket_id) VALUES (new.id);
END;
"""

MIGRATIONS: list[Migration] = [
    Migration(1, "accounts, folders, messages, raw bytes, attachments, contacts, FTS5", V1_SQL),
    Migration(2, "tickets, tags, notes, audit trail, team events, saved views, threading keys", V2_SQL),
    Migration(3, "sync: quarantine, pending flag changes, account status", V3_SQL),
    Migration(4, "replies: drafts, outbox, templates, who is composing", V4_SQL),
    Migration(5, "messages reach the full-text index in batches, not by a trigger", V5_SQL),
    Migration(6, "ticket status mirrored to IMAP keywords", V6_SQL),
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
