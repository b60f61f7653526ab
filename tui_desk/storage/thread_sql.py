"""SQL that threading asks while placing a message: copies, subject matches, participants.

Kept apart from `storage/tickets.py` (ticket rows and keys) so each stays small; like it, this
runs inside the caller's transaction on the raw cursor.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, to_db_time
from tui_desk.storage.tickets import db_time


def unthreaded_ids(conn: Connection, limit: int = 5000) -> list[int]:
    return [r[0] for r in cursor(conn).execute(
        "SELECT id FROM messages WHERE thread_kind = '' ORDER BY id LIMIT ?", (limit,)
    )]  # fmt: skip


def first_copy(conn: Connection, message_id: str, content_hash: str, exclude: int) -> tuple[int, int] | None:
    """(id, ticket_id) of an already threaded copy of the same mail, if any."""
    hit = cursor(conn).execute(
        "SELECT id, ticket_id FROM messages WHERE message_id = ? AND content_hash = ? AND id != ? "
        "AND ticket_id IS NOT NULL ORDER BY id LIMIT 1",
        (message_id, content_hash, exclude),
    ).fetchone()
    return (int(hit[0]), int(hit[1])) if hit else None


def ticket_thread_headers(conn: Connection, pk: int) -> list[tuple[str, str, list[str], datetime | None, str]]:
    """(message_id, in_reply_to, refs, date, thread_kind) of a ticket's messages, for re-rooting."""
    return [
        (r[0], r[1], r[2].split(), db_time(r[3]), r[4])
        for r in cursor(conn).execute(
            "SELECT message_id, in_reply_to, refs, date, thread_kind FROM messages "
            "WHERE ticket_id = ? AND duplicate_of IS NULL AND auto_submitted = ''",
            (pk,),
        )
    ]


def participants(conn: Connection, pk: int) -> set[str]:
    """Every address on the ticket's mail (From, To, Cc) plus its requester."""
    cur = cursor(conn)
    found: set[str] = set()
    for from_addr, to_addrs, cc_addrs in cur.execute(
        "SELECT from_addr, to_addrs, cc_addrs FROM messages WHERE ticket_id = ?", (pk,)
    ):
        found.add(from_addr.lower())
        for pair in json.loads(to_addrs or "[]") + json.loads(cc_addrs or "[]"):
            if len(pair) > 1 and pair[1]:
                found.add(pair[1].lower())
    hit = cur.execute("SELECT requester_addr FROM tickets WHERE id = ?", (pk,)).fetchone()
    if hit and hit[0]:
        found.add(hit[0])
    found.discard("")
    return found


def subject_candidates(conn: Connection, customers: Sequence[str], subject_key: str, since: datetime,
                       until: datetime) -> list[int]:  # fmt: skip
    """Open-for-threading tickets of these customers with this normalised subject, newest first."""
    if not customers or not subject_key:
        return []
    marks = ", ".join("?" for _ in customers)
    return [int(r[0]) for r in cursor(conn).execute(
        f"SELECT id FROM tickets WHERE hidden = 0 AND requester_addr IN ({marks}) AND subject_key = ? "
        "AND automatic = 0 AND last_message_at BETWEEN ? AND ? ORDER BY last_message_at DESC, id DESC",
        (*customers, subject_key, to_db_time(since), to_db_time(until)),
    )]  # fmt: skip
