"""Schema version 4: replies.

Drafts, the outbox queue, canned templates and "who is composing" marks.

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

# Replies: drafts saved as the agent types, the outbox queue (raw message stored before any
# SMTP attempt, see tickets/outbox.py for the exactly-once rules), canned templates, and
# "agent X is answering ticket T" marks for collision warnings.
SQL = """
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

MIGRATION = Migration(4, "replies: drafts, outbox, templates, who is composing", SQL)
