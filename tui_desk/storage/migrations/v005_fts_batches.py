"""Schema version 5: the full-text index is filled in batches.

The code that inserts messages writes their FTS rows, one statement per batch, instead of a
per-row trigger.

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

# FTS rows are written by the code that inserts messages (`storage.messages`), one statement per
# batch: the per-row trigger cost about a third of a big first sync. Updates and deletes keep
# their triggers (rare, and a forgotten one would silently corrupt the index).
SQL = """
DROP TRIGGER messages_fts_ai;
"""

MIGRATION = Migration(5, "messages reach the full-text index in batches, not by a trigger", SQL)
