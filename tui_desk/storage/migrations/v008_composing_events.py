"""Schema version 8: composing marks travel between agents as team events.

A mark ("agent X is answering ticket T") is a last-writer-wins register per (ticket, agent):
`hlc` is the clock of the write that holds it, `active` = 0 keeps a clear as a tombstone (so
an older mark arriving late cannot bring the mark back), `event_id` names the event that
carries this state on the wire, `pushed` = 0 means this machine still has to publish it, and
`shared` says some state of the row has left (or came from) the server, so a clear has to be
published too. Rows from before this version are local marks of this agent: already pushed
as far as anyone cares (they expire within 30 minutes).

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

SQL = """
ALTER TABLE composing ADD COLUMN hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE composing ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE composing ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
ALTER TABLE composing ADD COLUMN pushed BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE composing ADD COLUMN shared BOOLEAN NOT NULL DEFAULT 0;
"""

MIGRATION = Migration(8, "composing marks are team events: clock, tombstone, push state", SQL)
