"""SQL for the "who is composing" marks. Rules (clock, expiry, publishing) live in `tickets/composing.py`.

One row per (ticket ref, agent): a last-writer-wins register whose `hlc` is the clock of the
write it holds. `active` = 0 is a clear kept as a tombstone; `pushed` = 0 is a local write
this machine still has to publish; `shared` = 1 once any state of the row has been on the
server. Marks are ephemeral, so they are kept apart from the team event log (`events`):
nothing here is ever folded into a ticket's state, audit trail or snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time

_COLS = "ticket_ref, agent, since, seen_at, hlc, active, event_id, pushed, shared"


@dataclass(frozen=True, slots=True)
class MarkRow:
    ticket_ref: str
    agent: str
    since: datetime
    seen_at: datetime
    """When the mark was last refreshed, as far as this machine can tell (it expires from here)."""
    hlc: str
    active: bool
    event_id: str
    pushed: bool
    shared: bool


def _row(r: Sequence[object]) -> MarkRow:
    return MarkRow(str(r[0]), str(r[1]), from_db_time(r[2]), from_db_time(r[3]), str(r[4]), bool(r[5]),  # type: ignore[arg-type]
                   str(r[6]), bool(r[7]), bool(r[8]))  # fmt: skip


def get(conn: Connection, ticket_ref: str, agent: str) -> MarkRow | None:
    hit = cursor(conn).execute(f"SELECT {_COLS} FROM composing WHERE ticket_ref = ? AND agent = ?",
                               (ticket_ref, agent)).fetchone()  # fmt: skip
    return _row(hit) if hit else None


def put(conn: Connection, row: MarkRow) -> None:
    """Write a row as it is (a local change: the caller decided it is the newest)."""
    cursor(conn).execute(
        f"INSERT OR REPLACE INTO composing ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row.ticket_ref, row.agent, to_db_time(row.since), to_db_time(row.seen_at), row.hlc, row.active,
         row.event_id, row.pushed, row.shared),
    )  # fmt: skip


def put_if_newer(conn: Connection, row: MarkRow) -> bool:
    """Write a row unless the one held has a clock at least as late; True when it was written."""
    cur = cursor(conn)
    cur.execute(
        f"INSERT INTO composing ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(ticket_ref, agent) DO UPDATE SET since = excluded.since, seen_at = excluded.seen_at, "
        "hlc = excluded.hlc, active = excluded.active, event_id = excluded.event_id, pushed = excluded.pushed, "
        "shared = excluded.shared WHERE excluded.hlc > composing.hlc",
        (row.ticket_ref, row.agent, to_db_time(row.since), to_db_time(row.seen_at), row.hlc, row.active,
         row.event_id, row.pushed, row.shared),
    )  # fmt: skip
    return cur.rowcount > 0


def delete(conn: Connection, ticket_ref: str, agent: str) -> None:
    cursor(conn).execute("DELETE FROM composing WHERE ticket_ref = ? AND agent = ?", (ticket_ref, agent))


def unpushed(conn: Connection) -> list[MarkRow]:
    """Local writes not yet published, oldest clock first."""
    return [_row(r) for r in cursor(conn).execute(f"SELECT {_COLS} FROM composing WHERE pushed = 0 ORDER BY hlc")]


def set_pushed(conn: Connection, ticket_ref: str, agent: str, event_id: str) -> bool:
    """The row's state `event_id` is on the server now. False when the row holds another state
    (changed meanwhile: that one still waits), or is gone."""
    cur = cursor(conn)
    cur.execute("UPDATE composing SET pushed = 1, shared = 1 WHERE ticket_ref = ? AND agent = ? AND event_id = ?",
                (ticket_ref, agent, event_id))  # fmt: skip
    if cur.rowcount:
        return True
    cur.execute("UPDATE composing SET shared = 1 WHERE ticket_ref = ? AND agent = ?", (ticket_ref, agent))
    return False


def latest_hlc(conn: Connection) -> str | None:
    hit = cursor(conn).execute("SELECT MAX(hlc) FROM composing").fetchone()
    return hit[0] if hit and hit[0] else None


def prune(conn: Connection, before_hlc: str) -> int:
    """Forget rows whose clock is older than `before_hlc`: expired marks and the tombstones of
    clears that no mark still alive can be older than."""
    cur = cursor(conn)
    cur.execute("DELETE FROM composing WHERE hlc < ?", (before_hlc,))
    return cur.rowcount


def composing(conn: Connection, ticket_ref: str, fresh_after: datetime) -> list[tuple[str, datetime]]:
    """(agent, since) of everyone marked as composing a reply to this ticket, seen recently."""
    return [
        (r[0], from_db_time(r[1]))  # type: ignore[misc]
        for r in cursor(conn).execute(
            "SELECT agent, since FROM composing WHERE ticket_ref = ? AND active = 1 AND seen_at >= ? ORDER BY since",
            (ticket_ref, to_db_time(fresh_after)),
        )
    ]


def composing_on(conn: Connection, refs: list[str], fresh_after: datetime) -> list[tuple[str, str, datetime]]:
    """(ticket_ref, agent, since) of the fresh composing marks on any of `refs` (a list window)."""
    if not refs:
        return []
    marks = ", ".join("?" for _ in refs)
    return [
        (r[0], r[1], from_db_time(r[2]))  # type: ignore[misc]
        for r in cursor(conn).execute(
            f"SELECT ticket_ref, agent, since FROM composing WHERE ticket_ref IN ({marks}) AND active = 1 "
            "AND seen_at >= ? ORDER BY since",
            (*refs, to_db_time(fresh_after)),
        )
    ]

