"""Schema version 2: tickets.

Tickets and what hangs off them: tags, notes, the audit trail, the local log of team events,
saved views, threading keys and known agents; messages learn which ticket they belong to.

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

# Tickets. The public id (`ref`, "T-" + Crockford base32 of sha256(root Message-ID)) is the same on
# every agent's machine; the integer `id` is local. A ticket that was merged away (by an agent
# or because threading found two halves of one conversation) stays as a row with `merged_into`
# set, so its old ref keeps resolving. `hidden` = merged away or no messages yet (a stub made
# by a team event that arrived before its mail); every list index is partial on hidden = 0.
SQL = """
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

MIGRATION = Migration(2, "tickets, tags, notes, audit trail, team events, saved views, threading keys", SQL)
