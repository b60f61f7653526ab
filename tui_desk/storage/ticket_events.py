"""SQL for the team event log and for the state folded from it (tags, notes, audit lines).

Events arrive as plain tuples (ticket, field, op, value, hlc, agent, event_id): storage knows
nothing about the event rules in `tui_desk.tickets`, only how to keep and find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, to_db_time

EventTuple = tuple[str, str, str, str, str, str, str]
"""(ticket, field, op, value, hlc, agent, event_id)"""
_EVENT_COLS = "ticket, field, op, value, hlc, agent, event_id"


def insert_events(conn: Connection, events: Iterable[EventTuple], *, pushed: bool) -> list[str]:
    """Store events not seen before; returns the event_ids that were new."""
    cur = cursor(conn)
    now = to_db_time(datetime.now(UTC))
    fresh: list[str] = []
    for e in events:
        cur.execute(
            f"INSERT INTO events ({_EVENT_COLS}, pushed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(event_id) DO NOTHING",
            (*e, pushed, now),
        )
        if cur.rowcount:
            fresh.append(e[6])
    return fresh


def events_for_refs(conn: Connection, refs: Sequence[str]) -> list[EventTuple]:
    if not refs:
        return []
    marks = ", ".join("?" for _ in refs)
    return [
        tuple(r)  # type: ignore[misc]
        for r in cursor(conn).execute(
            f"SELECT {_EVENT_COLS} FROM events WHERE ticket IN ({marks}) ORDER BY hlc, event_id", list(refs)
        )
    ]


def latest_hlc(conn: Connection) -> str | None:
    hit = cursor(conn).execute("SELECT MAX(hlc) FROM events").fetchone()
    return hit[0] if hit else None


def unpushed(conn: Connection, limit: int | None = None) -> list[tuple[int, EventTuple]]:
    """(row id, event) of events not yet in the Events folder, oldest first."""
    sql = f"SELECT id, {_EVENT_COLS} FROM events WHERE pushed = 0 ORDER BY id"
    params: tuple[int, ...] = ()
    if limit is not None:
        sql += " LIMIT ?"
        params = (limit,)
    return [(int(r[0]), tuple(r[1:])) for r in cursor(conn).execute(sql, params)]  # type: ignore[misc]


def set_pushed(conn: Connection, event_ids: Iterable[str]) -> int:
    cur = cursor(conn)
    done = 0
    for event_id in event_ids:
        cur.execute("UPDATE events SET pushed = 1 WHERE event_id = ? AND pushed = 0", (event_id,))
        done += cur.rowcount
    return done


def split_target(conn: Connection, message_id: str) -> str | None:
    """The ticket ref the newest split event sent this Message-ID to, if any."""
    hit = cursor(conn).execute(
        "SELECT ticket FROM events WHERE field = 'split' AND json_extract(value, '$.message_id') = ? "
        "ORDER BY hlc DESC, event_id DESC LIMIT 1",
        (message_id,),
    ).fetchone()
    return hit[0] if hit else None


def merge_events(conn: Connection) -> list[EventTuple]:
    return [tuple(r) for r in cursor(conn).execute(  # type: ignore[misc]
        f"SELECT {_EVENT_COLS} FROM events WHERE field = 'merge' ORDER BY hlc, event_id"
    )]  # fmt: skip


def delete_covered(conn: Connection, ref: str, base: tuple[str, str], ids: Iterable[str], keep_snapshot: str) -> int:
    """Drop the ref's events a snapshot covers (those at or before (hlc, event_id) `base`, and
    those named in `ids`), except the structural ones (a merge or split still has to move mail
    that arrives later), and every snapshot of the ref but `keep_snapshot` (the caller knows it
    supersedes them; a snapshot's own hlc/event_id say nothing about what it covers)."""
    cur = cursor(conn)
    cur.execute(
        "DELETE FROM events WHERE ticket = ? AND field NOT IN ('snapshot', 'split', 'merge') AND (hlc, event_id) <= (?, ?)",
        (ref, *base),
    )
    removed = cur.rowcount
    named = sorted(set(ids))
    for start in range(0, len(named), 500):
        chunk = named[start : start + 500]
        cur.execute(
            f"DELETE FROM events WHERE ticket = ? AND field NOT IN ('snapshot', 'split', 'merge') "
            f"AND event_id IN ({', '.join('?' for _ in chunk)})", (ref, *chunk),
        )  # fmt: skip
        removed += cur.rowcount
    cur.execute("DELETE FROM events WHERE ticket = ? AND field = 'snapshot' AND event_id != ?", (ref, keep_snapshot))
    return removed + cur.rowcount


def refs_with_events(conn: Connection, *, before_hlc: str | None = None) -> list[str]:
    """Refs that have events; with `before_hlc`, only refs with a non-snapshot event older than it
    (what compaction looks at: the old part of the log, found through the hlc index)."""
    if before_hlc is None:
        return [r[0] for r in cursor(conn).execute("SELECT DISTINCT ticket FROM events ORDER BY ticket")]
    return [r[0] for r in cursor(conn).execute(
        "SELECT DISTINCT ticket FROM events WHERE hlc < ? AND field != 'snapshot' ORDER BY ticket", (before_hlc,)
    )]  # fmt: skip


def snapshots_for_refs(conn: Connection, refs: Iterable[str]) -> list[tuple[EventTuple, bool]]:
    """Every snapshot event held for these refs, with whether it is in the Events folder."""
    refs = sorted(set(refs))
    out: list[tuple[EventTuple, bool]] = []
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.extend(
            (tuple(r[:7]), bool(r[7]))  # type: ignore[misc]
            for r in cursor(conn).execute(
                f"SELECT {_EVENT_COLS}, pushed FROM events WHERE field = 'snapshot' AND ticket IN ({marks})", chunk
            )
        )
    return out


def has_snapshots(conn: Connection) -> bool:
    return cursor(conn).execute("SELECT 1 FROM events WHERE field = 'snapshot' LIMIT 1").fetchone() is not None


# --- the folded state, materialised on the ticket ---------------------------------------------


def write_state(conn: Connection, pk: int, *, status: str, priority: int, assignee: str, tags: Sequence[str],
                solved_at: datetime | None, last_event_at: datetime | None) -> None:  # fmt: skip
    cur = cursor(conn)
    cur.execute(
        "UPDATE tickets SET status = ?, priority = ?, assignee = ?, solved_at = ?, "
        "updated_at = MAX(COALESCE(last_message_at, updated_at), COALESCE(?, '')) WHERE id = ?",
        (status, priority, assignee, to_db_time(solved_at), to_db_time(last_event_at), pk),
    )
    have = {r[0] for r in cur.execute("SELECT tag FROM ticket_tags WHERE ticket_id = ?", (pk,))}
    want = set(tags)
    cur.executemany("DELETE FROM ticket_tags WHERE ticket_id = ? AND tag = ?", [(pk, t) for t in have - want])
    cur.executemany("INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?)", [(pk, t) for t in want - have])


def write_notes(conn: Connection, pk: int, notes: Iterable[tuple[str, str, str, str, datetime]]) -> None:
    """(event_id, hlc, author, body, created_at): notes are append-only, so existing ones just move."""
    cursor(conn).executemany(
        "INSERT INTO notes (ticket_id, event_id, hlc, author, body, created_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(event_id) DO UPDATE SET ticket_id = excluded.ticket_id",
        [(pk, eid, hlc, author, body, to_db_time(at)) for eid, hlc, author, body, at in notes],
    )


def write_event_audit(conn: Connection, pk: int, family: Sequence[int],
                      lines: Iterable[tuple[str | None, str, datetime, str, str, str, str]]) -> None:  # fmt: skip
    """Replace the event-derived audit lines of a ticket family; system lines (no event) stay.

    lines: (event_id, hlc, at, agent, field, old, new)."""
    cur = cursor(conn)
    marks = ", ".join("?" for _ in family)
    cur.execute(f"DELETE FROM audit WHERE ticket_id IN ({marks}) AND hlc != ''", list(family))
    cur.execute(f"UPDATE audit SET ticket_id = ? WHERE ticket_id IN ({marks})", (pk, *family))
    cur.executemany(
        "INSERT INTO audit (ticket_id, event_id, hlc, at, agent, field, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(pk, eid, hlc, to_db_time(at), agent, name, old, new) for eid, hlc, at, agent, name, old, new in lines],
    )


def add_system_audit(conn: Connection, pk: int, at: datetime, field: str, old: str, new: str,
                     agent: str = "system") -> None:  # fmt: skip
    """A local, derived change (threading joined two tickets, a tag was claimed): not an event."""
    cursor(conn).execute(
        "INSERT INTO audit (ticket_id, event_id, hlc, at, agent, field, old, new) VALUES (?, NULL, '', ?, ?, ?, ?, ?)",
        (pk, to_db_time(at), agent, field, old, new),
    )
