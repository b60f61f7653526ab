"""Schema version 7: when this machine last compacted the team event log.

Compaction of the `TuiDesk/Events` folder runs at most once a day per machine (see
`tickets/team_compact.py`); the time it last finished is kept on the folder's row, beside the
rest of that folder's sync state, so a crash before the end simply makes the next sync retry.

Frozen: a released step is never edited; change the schema by adding the next version module
and listing it in `runner.STEPS`.
"""

from __future__ import annotations

from tui_desk.storage.migrations.step import Migration

SQL = """
ALTER TABLE folders ADD COLUMN compacted_at DATETIME;
"""

MIGRATION = Migration(7, "folders remember when the team event log was last compacted", SQL)
