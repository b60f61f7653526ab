"""SQL for reply drafts and for the message facts a reply is built from.

`save` is called by the composer on every keystroke batch, so it is one UPDATE of one row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time

FIELDS = (
    "account", "ticket_ref", "mode", "agent", "to_addrs", "cc_addrs", "subject", "body", "quote", "quoted",
    "signature", "attachments", "status", "message_id", "in_reply_to", "refs", "template",
)  # fmt: skip
_JSON = frozenset({"to_addrs", "cc_addrs", "attachments"})


def _encode(name: str, value: Any) -> Any:
    if name in _JSON:
        return json.dumps([list(v) if isinstance(v, tuple) else v for v in value], ensure_ascii=False)
    return value


def insert(conn: Connection, values: dict[str, Any], opened_at: datetime) -> int:
    names = [n for n in FIELDS if n in values]
    cur = cursor(conn)
    now = to_db_time(datetime.now(UTC))
    cur.execute(
        f"INSERT INTO drafts ({', '.join(names)}, opened_at, updated_at) "
        f"VALUES ({', '.join('?' for _ in names)}, ?, ?)",
        (*[_encode(n, values[n]) for n in names], to_db_time(opened_at), now),
    )
    return int(cur.lastrowid or 0)


def save(conn: Connection, draft_id: int, values: dict[str, Any]) -> bool:
    """Write the given fields of a draft; False when the draft no longer exists."""
    names = [n for n in values if n in FIELDS]
    if len(names) != len(values):
        raise ValueError(f"not draft fields: {sorted(set(values) - set(FIELDS))}")
    cur = cursor(conn)
    cur.execute(
        f"UPDATE drafts SET {', '.join(f'{n} = ?' for n in names)}{', ' if names else ''}updated_at = ? WHERE id = ?",
        (*[_encode(n, values[n]) for n in names], to_db_time(datetime.now(UTC)), draft_id),
    )
    return cur.rowcount > 0


def load(conn: Connection, draft_id: int) -> dict[str, Any] | None:
    cur = cursor(conn)
    cur.execute(f"SELECT id, {', '.join(FIELDS)}, opened_at, updated_at FROM drafts WHERE id = ?", (draft_id,))
    row = cur.fetchone()
    if row is None:
        return None
    out = dict(zip(["id", *FIELDS, "opened_at", "updated_at"], row, strict=True))
    for name in _JSON:
        out[name] = json.loads(out[name] or "[]")
    out["quote"] = bool(out["quote"])
    out["opened_at"] = from_db_time(out["opened_at"])
    out["updated_at"] = from_db_time(out["updated_at"])
    return out


def for_ticket(conn: Connection, ticket_ref: str) -> list[int]:
    """Draft ids for a ticket, the most recently edited first (to reopen after a restart)."""
    return [int(r[0]) for r in cursor(conn).execute(
        "SELECT id FROM drafts WHERE ticket_ref = ? ORDER BY updated_at DESC, id DESC", (ticket_ref,)
    )]  # fmt: skip


def delete(conn: Connection, draft_id: int) -> bool:
    cur = cursor(conn)
    cur.execute("DELETE FROM drafts WHERE id = ?", (draft_id,))
    return cur.rowcount > 0


_MSG = (
    "id, message_id, message_id_synthetic, in_reply_to, refs, subject, from_name, from_addr, to_addrs, "
    "cc_addrs, reply_to, date, text, auto_submitted, ours, ticket_id, account_id"
)


def account_names(conn: Connection) -> dict[int, str]:
    """Account row id -> account name (the name in the settings file)."""
    return {int(r[0]): str(r[1]) for r in cursor(conn).execute("SELECT id, name FROM accounts")}


def _message(row: Any) -> dict[str, Any]:
    out = dict(zip([c.strip() for c in _MSG.split(",")], row, strict=True))
    for name in ("to_addrs", "cc_addrs", "reply_to"):
        out[name] = [tuple(p) for p in json.loads(out[name] or "[]") if len(p) > 1]
    out["refs"] = out["refs"].split()
    out["date"] = from_db_time(out["date"])
    out["ours"] = bool(out["ours"])
    out["message_id_synthetic"] = bool(out["message_id_synthetic"])
    return out


def thread_messages(conn: Connection, ticket_ids: list[int]) -> list[dict[str, Any]]:
    """A ticket family's messages (one per mail), oldest first, with what a reply needs."""
    if not ticket_ids:
        return []
    marks = ", ".join("?" for _ in ticket_ids)
    cur = cursor(conn)
    cur.execute(
        f"SELECT {_MSG} FROM messages WHERE ticket_id IN ({marks}) AND duplicate_of IS NULL AND removed = 0 "
        "ORDER BY date, id",
        ticket_ids,
    )
    return [_message(r) for r in cur.fetchall()]


def messages_since(conn: Connection, account_id: int | None, since: datetime) -> list[dict[str, Any]]:
    """Messages stored after `since` (by arrival here), for collision checks."""
    cur = cursor(conn)
    sql = f"SELECT {_MSG} FROM messages WHERE created_at > ? AND removed = 0"
    params: list[Any] = [to_db_time(since)]
    if account_id is not None:
        sql += " AND account_id = ?"
        params.append(account_id)
    cur.execute(sql + " ORDER BY date, id", params)
    return [_message(r) for r in cur.fetchall()]
