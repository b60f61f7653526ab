"""SQL for ticket rows, threading keys and a ticket's messages. Rules live in `tui_desk.tickets`.

Everything goes through the sqlite3 cursor inside the caller's transaction (see `db.cursor`):
threading runs once per synced message and must not add ORM overhead to a sync batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time

TICKET_COLUMNS: tuple[str, ...] = (
    "id", "ref", "root", "root_pinned", "subject", "subject_key", "status", "priority", "assignee",
    "requester_addr", "requester_name", "requester_domain", "created_at", "updated_at",
    "last_message_at", "first_response_at", "solved_at", "snippet", "unread", "message_count",
    "automatic", "claimed_tag", "merged_into", "follow_up_of", "split_from", "hidden",
)  # fmt: skip
_TIME_COLUMNS = frozenset({"created_at", "updated_at", "last_message_at", "first_response_at", "solved_at"})
_BOOL_COLUMNS = frozenset({"root_pinned", "unread", "automatic", "hidden"})
_SELECT = f"SELECT {', '.join(TICKET_COLUMNS)} FROM tickets"


def db_time(value: str | datetime | None) -> datetime | None:
    """`db.from_db_time` for the hot paths: `fromisoformat` reads our stored format ~10x faster
    than strptime, and threading reads several times per message."""
    if value is None or isinstance(value, datetime):
        return from_db_time(value)
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return from_db_time(value)


def ticket_status(conn: Connection, pk: int) -> str:
    hit = cursor(conn).execute("SELECT status FROM tickets WHERE id = ?", (pk,)).fetchone()
    return str(hit[0]) if hit else ""


def rows_as_dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _ticket(values: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(TICKET_COLUMNS, values, strict=True))
    for name in _TIME_COLUMNS:
        out[name] = db_time(out[name])
    for name in _BOOL_COLUMNS:
        out[name] = bool(out[name])
    return out


def get_ticket(conn: Connection, pk: int) -> dict[str, Any] | None:
    hit = cursor(conn).execute(f"{_SELECT} WHERE id = ?", (pk,)).fetchone()
    return _ticket(hit) if hit else None


def pk_for_ref(conn: Connection, ref: str) -> int | None:
    hit = cursor(conn).execute("SELECT id FROM tickets WHERE ref = ?", (ref,)).fetchone()
    return int(hit[0]) if hit else None


def refs_with_prefix(conn: Connection, prefix: str, limit: int = 10) -> list[str]:
    """Refs starting with `prefix` (upper-case), for "by unique prefix" look-ups."""
    cur = cursor(conn)
    rows = cur.execute(
        "SELECT ref FROM tickets WHERE ref >= ? AND ref < ? ORDER BY ref LIMIT ?", (prefix, prefix + "\uffff", limit)
    )
    return [r[0] for r in rows]


def survivor(conn: Connection, pk: int) -> int:
    """Follow `merged_into` to the ticket that now holds this one's messages."""
    cur = cursor(conn)
    seen: set[int] = set()
    while pk not in seen:
        seen.add(pk)
        hit = cur.execute("SELECT merged_into FROM tickets WHERE id = ?", (pk,)).fetchone()
        if hit is None or hit[0] is None:
            return pk
        pk = int(hit[0])
    return pk


def family(conn: Connection, pk: int) -> list[tuple[int, str]]:
    """(id, ref) of this ticket and every ticket merged into it, directly or not."""
    cur = cursor(conn)
    out: list[tuple[int, str]] = []
    todo = [pk]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        hit = cur.execute("SELECT ref FROM tickets WHERE id = ?", (current,)).fetchone()
        if hit:
            out.append((current, hit[0]))
        todo.extend(r[0] for r in cur.execute("SELECT id FROM tickets WHERE merged_into = ?", (current,)))
    return out


def create_ticket(conn: Connection, ref: str, root: str, now: datetime, **values: Any) -> int:
    """A new (hidden until it has messages) ticket row; `values` set other columns."""
    cols = {"ref": ref, "root": root, "created_at": to_db_time(now), "updated_at": to_db_time(now)}
    cols.update({k: (to_db_time(v) if k in _TIME_COLUMNS else v) for k, v in values.items()})
    names = ", ".join(cols)
    cur = cursor(conn)
    cur.execute(f"INSERT INTO tickets ({names}) VALUES ({', '.join('?' for _ in cols)})", tuple(cols.values()))
    return int(cur.lastrowid or 0)


def update_ticket(conn: Connection, pk: int, **values: Any) -> None:
    if not values:
        return
    for name in values:
        if name not in TICKET_COLUMNS or name == "id":
            raise ValueError(f"not a ticket column: {name}")
    sets = ", ".join(f"{k} = ?" for k in values)
    params = [to_db_time(v) if k in _TIME_COLUMNS else v for k, v in values.items()]
    cursor(conn).execute(f"UPDATE tickets SET {sets} WHERE id = ?", (*params, pk))


# --- threading keys -------------------------------------------------------------------------


def tickets_for_keys(conn: Connection, msgids: Iterable[str]) -> dict[str, list[int]]:
    """For each Message-ID, the tickets that have seen it."""
    wanted = [m for m in dict.fromkeys(msgids) if m]
    out: dict[str, list[int]] = {}
    cur = cursor(conn)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for msgid, pk in cur.execute(
            f"SELECT msgid, ticket_id FROM thread_keys WHERE msgid IN ({marks}) ORDER BY ticket_id", chunk
        ):
            out.setdefault(msgid, []).append(int(pk))
    return out


def add_keys(conn: Connection, pk: int, keys: Iterable[tuple[str, str]]) -> None:
    """Record (msgid, ref-that-msgid-would-give) pairs as seen by ticket `pk`."""
    cursor(conn).executemany(
        "INSERT OR IGNORE INTO thread_keys (msgid, ticket_id, key_ref) VALUES (?, ?, ?)",
        [(m, pk, r) for m, r in keys if m],
    )


def owner_of_key_ref(conn: Connection, ref: str) -> int | None:
    """A ticket that has seen a Message-ID whose ref is `ref` (the same conversation, other root).
    Rows starting with "<" are threading's waits (`thread_waitrows.WAIT`), not Message-IDs seen."""
    hit = cursor(conn).execute(
        "SELECT ticket_id FROM thread_keys WHERE key_ref = ? AND msgid NOT LIKE '<%' ORDER BY ticket_id LIMIT 1",
        (ref,),
    ).fetchone()
    return int(hit[0]) if hit else None


def stubs_with_refs(conn: Connection, refs: Iterable[str], exclude: int) -> list[int]:
    """Message-less, unmerged tickets (made by early team events) with one of these refs."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    return [
        int(r[0])
        for r in cursor(conn).execute(
            f"SELECT id FROM tickets WHERE ref IN ({marks}) AND message_count = 0 AND merged_into IS NULL "
            "AND id != ? ORDER BY id",
            (*wanted, exclude),
        )
    ]


def move_ticket_contents(conn: Connection, src: int, dst: int) -> None:
    """Move messages, keys, notes and audit lines of `src` to `dst`; mark `src` merged into `dst`."""
    move_tickets_contents(conn, [(src, dst)])


def move_tickets_contents(conn: Connection, moves: Sequence[tuple[int, int]]) -> None:
    """`move_ticket_contents` for each (src, dst), in order (a later move may move an earlier
    one's dst on), one statement of each kind for all of them."""
    if not moves:
        return
    cur = cursor(conn)
    back = [(dst, src) for src, dst in moves]
    cur.executemany("UPDATE messages SET ticket_id = ? WHERE ticket_id = ?", back)
    cur.executemany("INSERT OR IGNORE INTO thread_keys SELECT msgid, ?, key_ref FROM thread_keys WHERE ticket_id = ?",
                    back)  # fmt: skip
    cur.executemany("DELETE FROM thread_keys WHERE ticket_id = ?", [(src,) for src, _dst in moves])
    cur.executemany("UPDATE audit SET ticket_id = ? WHERE ticket_id = ?", back)
    cur.executemany("UPDATE notes SET ticket_id = ? WHERE ticket_id = ?", back)
    cur.executemany("UPDATE tickets SET merged_into = ? WHERE merged_into = ?", back)
    cur.executemany("UPDATE tickets SET merged_into = ?, hidden = 1, message_count = 0 WHERE id = ?", back)
    cur.executemany(
        "UPDATE tickets SET unread = MAX(unread, (SELECT unread FROM tickets WHERE id = ?)) WHERE id = ?", moves
    )


# --- messages -------------------------------------------------------------------------------

THREAD_FIELDS = (
    "id, message_id, message_id_synthetic, in_reply_to, refs, subject, from_name, from_addr, to_addrs, "
    "cc_addrs, date, internaldate, created_at, content_hash, auto_submitted, headers, snippet, "
    "folder_id, ticket_id, thread_kind, ours"
)


def messages_for_threading(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The header fields threading needs, oldest first (so originals usually precede replies)."""
    cur = cursor(conn)
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        cur.execute(f"SELECT {THREAD_FIELDS} FROM messages WHERE id IN ({marks}) AND removed = 0", chunk)
        out.extend(rows_as_dicts(cur))
    for row in out:
        for name in ("date", "internaldate", "created_at"):
            row[name] = db_time(row[name])
        row["refs"] = row["refs"].split()
        row["to_addrs"] = [a[1] for a in json.loads(row["to_addrs"] or "[]") if len(a) > 1]
        row["cc_addrs"] = [a[1] for a in json.loads(row["cc_addrs"] or "[]") if len(a) > 1]
        row["headers"] = json.loads(row["headers"] or "{}")
    out.sort(key=lambda r: (r["date"], r["id"]))
    return out




def set_message_ticket(conn: Connection, mid: int, pk: int | None, kind: str, *, ours: bool,
                       duplicate_of: int | None = None) -> None:  # fmt: skip
    cursor(conn).execute(
        "UPDATE messages SET ticket_id = ?, thread_kind = ?, ours = ?, duplicate_of = ? WHERE id = ?",
        (pk, kind, ours, duplicate_of, mid),
    )




def messages_with_id(conn: Connection, message_id: str) -> list[tuple[int, int | None, str]]:
    """(id, ticket_id, content_hash) of every stored copy carrying this Message-ID."""
    return [(int(r[0]), r[1], r[2]) for r in cursor(conn).execute(
        "SELECT id, ticket_id, content_hash FROM messages WHERE message_id = ? ORDER BY id", (message_id,)
    )]  # fmt: skip








def refresh_summary(conn: Connection, pk: int, subject_key_of: Any, display_subject_of: Any) -> None:
    """Recompute the denormalised columns that come from the ticket's messages."""
    cur = cursor(conn)
    rows = cur.execute(
        "SELECT m.date, m.subject, m.from_name, m.from_addr, m.to_addrs, m.snippet, m.ours, m.auto_submitted "
        "FROM messages m WHERE m.ticket_id = ? AND m.duplicate_of IS NULL AND m.removed = 0 ORDER BY m.date, m.id",
        (pk,),
    ).fetchall()
    if not rows:
        cur.execute("UPDATE tickets SET message_count = 0, hidden = 1 WHERE id = ?", (pk,))
        return
    first, last = rows[0], rows[-1]
    # subject and requester from people's mail: a robot's only if nobody else wrote
    human = next((r for r in rows if not r[7]), first)
    customer = next((r for r in rows if not r[6] and not r[7]), None)
    to = [a for a in json.loads(human[4] or "[]") if len(a) > 1] if customer is None and human[6] else []
    if customer is None and not to:
        customer = next((r for r in rows if not r[6]), None)
    if customer is not None:
        req_addr, req_name = customer[3].lower(), customer[2]
    else:  # we wrote first: the customer is whom we wrote to
        req_addr, req_name = (to[0][1].lower(), to[0][0]) if to else ("", "")
    created = first[0]
    first_response = next((r[0] for r in rows if r[6] and r[0] >= created and customer is not None), None)
    automatic = all(r[7] for r in rows)
    hidden_row = cur.execute("SELECT merged_into, updated_at FROM tickets WHERE id = ?", (pk,)).fetchone()
    updated = max(last[0], hidden_row[1]) if hidden_row and hidden_row[1] else last[0]
    cur.execute(
        "UPDATE tickets SET subject = ?, subject_key = ?, requester_addr = ?, requester_name = ?, "
        "requester_domain = ?, created_at = ?, last_message_at = ?, updated_at = ?, first_response_at = ?, "
        "snippet = ?, message_count = ?, automatic = ?, hidden = ? WHERE id = ?",
        (display_subject_of(human[1]), subject_key_of(human[1]), req_addr, req_name,
         req_addr.rpartition("@")[2], created, last[0], updated, first_response, last[5], len(rows),
         automatic, hidden_row is not None and hidden_row[0] is not None, pk),
    )  # fmt: skip


# --- agents ---------------------------------------------------------------------------------


def agent_addresses(conn: Connection) -> set[str]:
    """Team addresses: registered agents and the accounts' own addresses."""
    cur = cursor(conn)
    found = {r[0].lower() for r in cur.execute("SELECT address FROM agents")}
    found.update(r[0].lower() for r in cur.execute("SELECT email FROM accounts WHERE email != ''"))
    return found


def add_agent(conn: Connection, address: str, name: str = "") -> None:
    if address:
        cursor(conn).execute(
            "INSERT INTO agents (address, name) VALUES (?, ?) ON CONFLICT(address) DO UPDATE SET "
            "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE agents.name END",
            (address.lower(), name),
        )


def folder_roles(conn: Connection, folder_id: int | None) -> tuple[str, str]:
    """(name, special_use) of a folder, or ("", "") for imported mail."""
    if folder_id is None:
        return "", ""
    hit = cursor(conn).execute("SELECT name, special_use FROM folders WHERE id = ?", (folder_id,)).fetchone()
    return (hit[0], hit[1]) if hit else ("", "")


def move_message(conn: Connection, mid: int, pk: int, kind: str) -> None:
    """Put one stored copy into another ticket (a split), keeping how it was sent."""
    cursor(conn).execute("UPDATE messages SET ticket_id = ?, thread_kind = ? WHERE id = ?", (pk, kind, mid))


def move_key(conn: Connection, msgid: str, src: int, dst: int) -> None:
    """A split message's own Message-ID now leads to its new ticket, not the old one."""
    cur = cursor(conn)
    cur.execute(
        "INSERT OR IGNORE INTO thread_keys (msgid, ticket_id, key_ref) "
        "SELECT msgid, ?, key_ref FROM thread_keys WHERE msgid = ? AND ticket_id = ?",
        (dst, msgid, src),
    )
    cur.execute("DELETE FROM thread_keys WHERE msgid = ? AND ticket_id = ?", (msgid, src))
