"""Schema version 6: ticket status mirrored to IMAP keywords.

A trigger remembers which tickets changed status, so the mirroring work grows with the changes.

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

# Status mirrored as IMAP keywords ($TuiDesk-pending ...) so other mail clients see it: a trigger
# remembers which tickets changed status, so the mirroring work grows with the changes, never
# with the mailbox.
SQL = """
CREATE TABLE keyword_dirty (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE
);
CREATE TRIGGER tickets_status_keyword AFTER UPDATE OF status ON tickets
WHEN new.status != old.status BEGIN
    INSERT OR IGNORE INTO keyword_dirty (ticket_id) VALUES (new.id);
END;
"""

MIGRATION = Migration(6, "ticket status mirrored to IMAP keywords", SQL)
