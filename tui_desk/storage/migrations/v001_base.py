"""Schema version 1: mail storage.

Accounts, folders, messages with their raw bytes, attachments, contacts, and the FTS5 index over
the messages table (external content, so the text is not stored twice).

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

SQL = """
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

MIGRATION = Migration(1, "accounts, folders, messages, raw bytes, attachments, contacts, FTS5", SQL)
