"""Ticket status as IMAP keywords, so other mail clients on the same mailbox can see it.

When a ticket's status changes (here or through a colleague's event), its messages on the
server get `$TuiDesk-<status>` and lose the other status keywords. The changes are queued as
ordinary flag changes (`sync_state.queue_flag_change`) and pushed by the next folder sync, which
drops them for folders whose PERMANENTFLAGS do not allow new keywords (`\\*`). "new" is not
mirrored: a fresh mailbox needs no keyword on every message.
"""

from __future__ import annotations

from sqlalchemy import Connection

from tui_desk.storage import keywords as sql
from tui_desk.storage.sync_state import queue_flag_change

PREFIX = "$TuiDesk-"
STATUSES = ("open", "pending", "on-hold", "solved", "closed")


def keyword(status: str) -> str:
    return PREFIX + status


def is_status_keyword(flag: str) -> bool:
    return flag.startswith(PREFIX)


def queue_status_keywords(conn: Connection) -> int:
    """Queue keyword changes for every ticket whose status changed; returns messages touched."""
    touched = 0
    while True:
        dirty = sql.dirty_tickets(conn)
        if not dirty:
            return touched
        for ticket_id, status in dirty:
            want = {keyword(status)} if status in STATUSES else set()
            for message_id, flags in sql.mirror_targets(conn, ticket_id):
                have = {f for f in flags.split() if is_status_keyword(f)}
                if have != want:
                    queue_flag_change(conn, message_id, add=want - have, remove=have - want)
                    touched += 1
        sql.clear_dirty(conn, [t for t, _ in dirty])
