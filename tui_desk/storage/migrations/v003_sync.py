"""Schema version 3: sync bookkeeping.

Quarantined mail, flag changes waiting to be pushed, and each account's online/offline status.

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

# Sync bookkeeping: messages set aside so one bad mail never blocks a folder, local flag changes
# waiting to be pushed to the server, and each account's online/offline state with its reason.
SQL = """
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

MIGRATION = Migration(3, "sync: quarantine, pending flag changes, account status", SQL)
