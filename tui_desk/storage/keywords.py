"""SQL for mirroring ticket status to IMAP keywords (see `tickets.keywords`)."""

from __future__ import annotations

from sqlalchemy import Connection

from tui_desk.storage.db import cursor


def dirty_tickets(conn: Connection, limit: int = 2000) -> list[tuple[int, str]]:
    """(ticket id, current status) of tickets whose status changed since they were mirrored."""
    return [
        (r[0], r[1])
        for r in cursor(conn).execute(
            "SELECT d.ticket_id, t.status FROM keyword_dirty d JOIN tickets t ON t.id = d.ticket_id LIMIT ?",
            (limit,),
        )
    ]


def mirror_targets(conn: Connection, ticket_id: int) -> list[tuple[int, str]]:
    """(message row id, flags) of a ticket's messages that live on the server as mail."""
    return [
        (r[0], r[1])
        for r in cursor(conn).execute(
            "SELECT m.id, m.flags FROM messages m JOIN folders f ON f.id = m.folder_id "
            "WHERE m.ticket_id = ? AND m.uid IS NOT NULL AND m.removed = 0 AND f.special_use != 'events'",
            (ticket_id,),
        )
    ]


def clear_dirty(conn: Connection, ticket_ids: list[int]) -> None:
    cursor(conn).executemany("DELETE FROM keyword_dirty WHERE ticket_id = ?", [(i,) for i in ticket_ids])
