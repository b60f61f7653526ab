"""Filtered, sorted, keyset-paginated ticket lists as parameterised SQL, and the reads a
ticket's detail view needs. The filter language itself is parsed in `tickets/query.py`.

Every list query touches only the window it returns: conditions are indexed columns on the
denormalised `tickets` row, and `ORDER BY <sort>, id LIMIT n` with a keyset cursor walks a
partial index (`WHERE hidden = 0`). Full-text conditions go to `message_fts`; a cheap probe
decides per word whether to drive from the few matching messages (rare word) or to walk the
ticket index and check each candidate against the matches (common word), which keeps both
cases fast at 100k tickets.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time
from tui_desk.storage.tickets import rows_as_dicts

FTS_PROBE = 3000
INLINE_ROWIDS = 10_000
"""At most this many matching rowids are inlined as parameters across one query; past that the
words are checked through MATCH subqueries (hosts build SQLite with as few as 32,766 variables)."""
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "updated": ("updated_at",),
    "created": ("created_at",),
    "priority": ("priority", "updated_at"),
}
LIST_COLUMNS = (
    "t.id, t.ref, t.status, t.priority, t.subject, t.requester_addr, t.requester_name, t.assignee, "
    "t.created_at, t.updated_at, t.unread, t.message_count, t.snippet, t.automatic"
)


@dataclass(frozen=True, slots=True)
class Cond:
    """One condition: `field` in status|priority|assignee|tag|from|unread|updated|text.

    op: "in" (values), "cmp" (values = (operator, value)), "addr"/"domain" (values), "fts"
    (values = FTS5 expressions, already safely quoted). `negate` turns it into NOT."""

    field: str
    op: str
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(slots=True)
class TicketFilter:
    conds: list[Cond] = field(default_factory=list)
    sort: str = "updated"
    descending: bool = True


class _Sql:
    """Parameters of the query being built, whether a small candidate set drives it, and whether
    a condition already proved that nothing can match (then no SQL runs at all)."""

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.driven = False
        self.empty = False


def _fts_rowids_small(conn: Connection, expr: str) -> list[int] | None:
    """The message rowids matching `expr` if there are few of them, else None."""
    rowids = [r[0] for r in cursor(conn).execute(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ? LIMIT ?", (expr, FTS_PROBE + 1)
    )]  # fmt: skip
    return rowids if len(rowids) <= FTS_PROBE else None


def _fts_sql(conn: Connection, expr: str, negate: bool, q: _Sql) -> str:
    """One full-text condition, or "" when it excludes nothing.

    A word that matches no message never becomes a constant in the WHERE clause: SQLite folds
    `t.hidden = 0 AND ... AND 0` into plain `0`, which removes the term the partial indexes
    need, and an INDEXED BY hint then fails with "no query solution". The query is marked empty
    instead (and a negated word that matches nothing is simply dropped)."""
    small = _fts_rowids_small(conn, expr)
    if small is not None and not small:
        q.empty = q.empty or not negate
        return ""
    if small is not None and len(q.params) + len(small) <= INLINE_ROWIDS:
        q.params.extend(small)
        q.driven = q.driven or not negate
        marks = ", ".join("?" for _ in small)
        sql = f"t.id IN (SELECT m.ticket_id FROM messages m WHERE m.id IN ({marks}) AND m.ticket_id IS NOT NULL)"
    else:
        q.params.append(expr)
        sql = (
            "EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.id IN "
            "(SELECT rowid FROM message_fts WHERE message_fts MATCH ?))"
        )
    return f"NOT {sql}" if negate else sql


def _few_tagged(conn: Connection, tags: Sequence[str]) -> bool:
    marks = ", ".join("?" for _ in tags)
    found = cursor(conn).execute(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM ticket_tags WHERE tag IN ({marks}) LIMIT ?)", (*tags, FTS_PROBE + 1)
    ).fetchone()[0]
    return int(found) <= FTS_PROBE


def _cond_sql(conn: Connection, c: Cond, q: _Sql) -> str:
    marks = ", ".join("?" for _ in c.values)
    params = q.params
    if c.field in ("status", "assignee", "priority") and c.op == "in":
        params.extend(c.values)
        sql = f"t.{c.field} IN ({marks})"
    elif c.field == "priority" and c.op == "cmp":
        operator, value = c.values
        if operator not in ("<", "<=", ">", ">=", "="):
            raise ValueError(operator)
        params.append(value)
        sql = f"t.priority {operator} ?"
    elif c.field == "tag":
        q.driven = q.driven or (not c.negate and _few_tagged(conn, c.values))
        params.extend(c.values)
        sql = f"t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag IN ({marks}))"
    elif c.field == "from" and c.op in ("addr", "domain"):
        q.driven = q.driven or not c.negate  # a customer's tickets are few
        params.extend(c.values)
        sql = f"t.requester_{'addr' if c.op == 'addr' else 'domain'} IN ({marks})"
    elif c.field == "unread":
        # a literal, not a parameter: only then can SQLite use the partial index on unread = 1
        sql = "t.unread = 1" if c.values[0] else "t.unread = 0"
    elif c.field == "updated" and c.op == "cmp":
        operator, value = c.values
        if operator not in ("<", ">="):
            raise ValueError(operator)
        params.append(to_db_time(value))
        sql = f"t.updated_at {operator} ?"
    elif c.field == "text":
        return " AND ".join(filter(None, (_fts_sql(conn, expr, c.negate, q) for expr in c.values)))
    else:
        raise ValueError(f"unknown condition {c.field}/{c.op}")
    return f"NOT ({sql})" if c.negate else sql


def _where(conn: Connection, f: TicketFilter, q: _Sql) -> str:
    return " AND ".join(filter(None, ["t.hidden = 0"] + [_cond_sql(conn, c, q) for c in f.conds]))


def _execute(conn: Connection, sql: str, hint: str, params: Sequence[Any]) -> sqlite3.Cursor:
    """Run `sql` (with `{}` where the table's INDEXED BY goes) with the hint, or without it if
    SQLite says it cannot honour it: the hint is about speed, never a reason to fail a list."""
    cur = cursor(conn)
    try:
        return cur.execute(sql.format(hint), params)
    except sqlite3.OperationalError as exc:  # "no query solution": let the planner choose
        if not hint or "no query solution" not in str(exc):
            raise
        return cur.execute(sql.format(""), params)


def _index_for(f: TicketFilter) -> str:
    """The index that hands rows over already in the window's order (with the best equality
    prefix). Without ANALYZE statistics SQLite often prefers an index that matches a filter
    and then sorts tens of thousands of rows; walking the sort order and stopping after one
    window is what keeps a first page at a few milliseconds."""
    eq = {c.field for c in f.conds if c.op == "in" and not c.negate and c.field in ("status", "assignee")}
    unread = any(c.field == "unread" and not c.negate and c.values[0] for c in f.conds)
    if f.sort == "priority":
        return next((f"ix_tickets_{k}_priority" for k in ("assignee", "status") if k in eq), "ix_tickets_priority")
    if f.sort == "created":
        return "ix_tickets_created"
    if eq:
        return "ix_tickets_assignee" if "assignee" in eq else "ix_tickets_status"
    return "ix_tickets_unread" if unread else "ix_tickets_updated"


def page_rows(conn: Connection, f: TicketFilter, after: Sequence[Any] | None, limit: int) -> list[dict[str, Any]]:
    """One window of tickets; `after` is the sort key of the last row of the previous window."""
    q = _Sql()
    where = _where(conn, f, q)
    if q.empty:
        return []
    cols = [f"t.{c}" for c in SORT_COLUMNS[f.sort]] + ["t.id"]
    direction = "DESC" if f.descending else "ASC"
    if after is not None:
        operator = "<" if f.descending else ">"
        where += f" AND ({', '.join(cols)}) {operator} ({', '.join('?' for _ in cols)})"
        q.params.extend(after)
    order = ", ".join(f"{c} {direction}" for c in cols)
    hint = "" if q.driven else f" INDEXED BY {_index_for(f)}"
    sql = f"SELECT {LIST_COLUMNS} FROM tickets t{{}} WHERE {where} ORDER BY {order} LIMIT ?"
    out = rows_as_dicts(_execute(conn, sql, hint, (*q.params, limit)))
    tags = tags_for(conn, [r["id"] for r in out])
    for row in out:
        row["sort_key"] = [row[c.removeprefix("t.")] for c in cols]
        row["tags"] = tags.get(row["id"], [])
        for name in ("created_at", "updated_at"):
            row[name] = from_db_time(row[name])
        row["unread"] = bool(row["unread"])
        row["automatic"] = bool(row["automatic"])
    return out


def count_rows(conn: Connection, f: TicketFilter) -> int:
    """How many tickets match; status and assignee are answered from the index alone."""
    q = _Sql()
    where = _where(conn, f, q)
    if q.empty:
        return 0
    eq = {c.field for c in f.conds if c.op == "in" and not c.negate and c.field in ("status", "assignee")}
    hint = "" if q.driven or not eq else " INDEXED BY ix_tickets_" + ("assignee" if "assignee" in eq else "status")
    sql = f"SELECT COUNT(*) FROM tickets t{{}} WHERE {where}"
    return int(_execute(conn, sql, hint, q.params).fetchone()[0])


def tags_for(conn: Connection, pks: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not pks:
        return out
    marks = ", ".join("?" for _ in pks)
    for pk, tag in cursor(conn).execute(
        f"SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN ({marks}) ORDER BY ticket_id, tag", list(pks)
    ):
        out.setdefault(pk, []).append(tag)
    return out


def notes_for(conn: Connection, pk: int) -> list[dict[str, Any]]:
    cur = cursor(conn)
    cur.execute("SELECT event_id, author, body, created_at FROM notes WHERE ticket_id = ? ORDER BY hlc, event_id", (pk,))
    out = rows_as_dicts(cur)
    for row in out:
        row["created_at"] = from_db_time(row["created_at"])
    return out


def audit_for(conn: Connection, pk: int) -> list[dict[str, Any]]:
    cur = cursor(conn)
    cur.execute(
        "SELECT at, agent, field, old, new, event_id FROM audit WHERE ticket_id = ? ORDER BY at, hlc, event_id, id", (pk,)
    )
    out = rows_as_dicts(cur)
    for row in out:
        row["at"] = from_db_time(row["at"])
    return out


def contact(conn: Connection, address: str) -> dict[str, Any] | None:
    cur = cursor(conn)
    cur.execute("SELECT address, name, organisation FROM contacts WHERE address = ?", (address,))
    found = rows_as_dicts(cur)
    return found[0] if found else None


def merged_refs(conn: Connection, pk: int) -> list[str]:
    return [r[0] for r in cursor(conn).execute("SELECT ref FROM tickets WHERE merged_into = ? ORDER BY ref", (pk,))]


def all_refs(conn: Connection) -> list[tuple[int, str]]:
    return [(int(r[0]), r[1]) for r in cursor(conn).execute("SELECT id, ref FROM tickets WHERE hidden = 0")]


def ticket_messages(conn: Connection, pk: int) -> list[dict[str, Any]]:
    """A ticket's messages for reading, oldest first, one per mail (copies left out)."""
    cur = cursor(conn)
    cur.execute(
        "SELECT id, message_id, subject, from_name, from_addr, to_addrs, cc_addrs, date, snippet, text, "
        "auto_submitted, ours, thread_kind, flags FROM messages WHERE ticket_id = ? AND duplicate_of IS NULL "
        "AND removed = 0 ORDER BY date, id",
        (pk,),
    )
    out = rows_as_dicts(cur)
    for row in out:
        row["to"] = json.loads(row.pop("to_addrs") or "[]")
        row["cc"] = json.loads(row.pop("cc_addrs") or "[]")
        row["date"] = from_db_time(row["date"])
        row["ours"] = bool(row["ours"])
    return out


# --- saved views ----------------------------------------------------------------------------


def list_views(conn: Connection) -> list[dict[str, Any]]:
    cur = cursor(conn)
    cur.execute("SELECT name, query, position, builtin FROM saved_views ORDER BY position, name")
    out = rows_as_dicts(cur)
    for row in out:
        row["builtin"] = bool(row["builtin"])
    return out


def upsert_view(conn: Connection, name: str, query: str) -> None:
    cur = cursor(conn)
    position = cur.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM saved_views").fetchone()[0]
    cur.execute(
        "INSERT INTO saved_views (name, query, position, builtin) VALUES (?, ?, ?, 0) "
        "ON CONFLICT(name) DO UPDATE SET query = excluded.query",
        (name, query, position),
    )


def remove_view(conn: Connection, name: str) -> bool:
    cur = cursor(conn)
    cur.execute("DELETE FROM saved_views WHERE name = ?", (name,))
    return cur.rowcount > 0


def latest_time(conn: Connection) -> datetime | None:
    hit = cursor(conn).execute("SELECT MAX(updated_at) FROM tickets WHERE hidden = 0").fetchone()
    return from_db_time(hit[0]) if hit and hit[0] else None
