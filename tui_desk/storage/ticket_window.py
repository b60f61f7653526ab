"""Random access into a filtered ticket list, for a screen that draws only the rows in view.

`ticket_search.page_rows` walks a list forwards from a keyset cursor, which is all a person
scrolling line by line needs. A terminal list also jumps: `G` to the end, a drag of the
scrollbar to the middle of 100,000 rows, and "keep the selected ticket selected" after new
mail shifted the rows. These reads answer exactly those questions (the sort key at a
position, the position of a sort key) with one indexed statement each, so a jump costs one
index walk instead of paging through everything before it.

They reuse the filter SQL of `ticket_search` so a position here and a row there always agree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor
from tui_desk.storage.ticket_search import SORT_COLUMNS, TicketFilter, _index_for, _Sql, _where, count_rows


def _sort_columns(f: TicketFilter) -> list[str]:
    return [f"t.{c}" for c in SORT_COLUMNS[f.sort]] + ["t.id"]


def _execute(conn: Connection, f: TicketFilter, q: _Sql, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
    """Run `sql` (with a `{}` where the index hint goes) the way `page_rows` does: walk the
    index of the sort order unless a small candidate set drives the query."""
    cur = cursor(conn)
    hint = "" if q.driven else f" INDEXED BY {_index_for(f)}"
    try:
        return cur.execute(sql.format(hint), params)
    except sqlite3.OperationalError as exc:  # "no query solution": let the planner choose
        if "no query solution" not in str(exc):
            raise
        return cur.execute(sql.format(""), params)


def count(conn: Connection, f: TicketFilter) -> int:
    """`ticket_search.count_rows`, falling back to the planner's own choice where the index hint
    has "no query solution" (an assignee filter with a common free-text word does), as
    `page_rows` already does: a keystroke in the filter bar must never raise."""
    try:
        return count_rows(conn, f)
    except sqlite3.OperationalError as exc:
        if "no query solution" not in str(exc):
            raise
    q = _Sql()
    where = _where(conn, f, q)
    return int(cursor(conn).execute(f"SELECT COUNT(*) FROM tickets t WHERE {where}", q.params).fetchone()[0])


def key_at(conn: Connection, f: TicketFilter, offset: int) -> list[Any] | None:
    """The sort key of the row at 0-based `offset` of the filtered list (None past the end)."""
    q = _Sql()
    where = _where(conn, f, q)
    cols = _sort_columns(f)
    direction = "DESC" if f.descending else "ASC"
    order = ", ".join(f"{c} {direction}" for c in cols)
    sql = f"SELECT {', '.join(cols)} FROM tickets t{{}} WHERE {where} ORDER BY {order} LIMIT 1 OFFSET ?"
    hit = _execute(conn, f, q, sql, (*q.params, max(0, offset))).fetchone()
    return list(hit) if hit else None


def offset_of(conn: Connection, f: TicketFilter, key: Sequence[Any]) -> int:
    """How many rows of the filtered list sort before a row with sort key `key` (its position
    when it is in the list; where it would be otherwise)."""
    q = _Sql()
    where = _where(conn, f, q)
    cols = _sort_columns(f)
    operator = ">" if f.descending else "<"
    sql = (
        f"SELECT COUNT(*) FROM tickets t{{}} WHERE {where} "
        f"AND ({', '.join(cols)}) {operator} ({', '.join('?' for _ in cols)})"
    )
    return int(_execute(conn, f, q, sql, (*q.params, *key)).fetchone()[0])


def key_of(conn: Connection, f: TicketFilter, ref: str) -> list[Any] | None:
    """The sort key of ticket `ref` if it is in the filtered list now, else None."""
    q = _Sql()
    where = _where(conn, f, q)
    cols = _sort_columns(f)
    sql = f"SELECT {', '.join(cols)} FROM tickets t WHERE t.ref = ? AND {where}"
    hit = cursor(conn).execute(sql, (ref, *q.params)).fetchone()
    return list(hit) if hit else None


def attachments_of(conn: Connection, message_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The attachments of some messages (inline parts left out), by message row id."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not message_ids:
        return out
    marks = ", ".join("?" for _ in message_ids)
    for mid, fname, orig, ctype, size, part in cursor(conn).execute(
        "SELECT message_id, filename, original_filename, content_type, size, part_path FROM attachments "
        f"WHERE message_id IN ({marks}) AND inline = 0 ORDER BY message_id, id",
        list(message_ids),
    ):
        out.setdefault(int(mid), []).append(
            {"name": orig or fname, "filename": fname, "content_type": ctype, "size": int(size), "part": part}
        )
    return out


def unparsed_bodies(conn: Connection, message_ids: Sequence[int]) -> set[int]:
    """Which of these messages were stored headers-only (their body is still to be parsed)."""
    if not message_ids:
        return set()
    marks = ", ".join("?" for _ in message_ids)
    sql = f"SELECT id FROM messages WHERE id IN ({marks}) AND body_parsed = 0"
    return {int(r[0]) for r in cursor(conn).execute(sql, list(message_ids))}
