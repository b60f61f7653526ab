"""SQL for the outbox queue. Rules live in `tickets/outbox.py` (composing marks: `storage/composing.py`).

Each function runs inside the caller's transaction; the outbox's crash safety depends on the
caller committing `sending` before the SMTP transaction and `sent` right after it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time

_COLS = (
    "id, account, ticket_ref, agent, draft, message_id, mail_from, rcpts, self_copy, raw, set_status, state, "
    "stage, filed, error_kind, error, attempts, next_attempt_at, created_at, updated_at, sent_at"
)


@dataclass(slots=True)
class OutboxItem:
    id: int
    account: str
    ticket_ref: str
    agent: str
    draft: dict[str, Any]
    message_id: str
    mail_from: str
    rcpts: list[str]
    self_copy: bool
    raw: bytes
    set_status: str
    state: str
    stage: str
    filed: bool
    error_kind: str
    error: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


def _item(r: Sequence[Any]) -> OutboxItem:
    return OutboxItem(
        int(r[0]), r[1], r[2], r[3], json.loads(r[4] or "{}"), r[5], r[6], json.loads(r[7] or "[]"), bool(r[8]),
        bytes(r[9]), r[10], r[11], r[12], bool(r[13]), r[14], r[15], int(r[16]), from_db_time(r[17]),
        from_db_time(r[18]), from_db_time(r[19]), from_db_time(r[20]),  # type: ignore[arg-type]
    )  # fmt: skip


def _now() -> str:
    return to_db_time(datetime.now(UTC)) or ""


def insert(conn: Connection, *, account: str, ticket_ref: str, agent: str, draft: dict[str, Any], message_id: str,
           mail_from: str, rcpts: Sequence[str], self_copy: bool, raw: bytes, set_status: str) -> int:  # fmt: skip
    cur = cursor(conn)
    now = _now()
    cur.execute(
        "INSERT INTO outbox (account, ticket_ref, agent, draft, message_id, mail_from, rcpts, self_copy, raw, "
        "set_status, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
        (account, ticket_ref, agent, json.dumps(draft, ensure_ascii=False), message_id, mail_from,
         json.dumps(list(rcpts)), self_copy, raw, set_status, now, now),
    )  # fmt: skip
    return int(cur.lastrowid or 0)


def get(conn: Connection, item_id: int) -> OutboxItem | None:
    hit = cursor(conn).execute(f"SELECT {_COLS} FROM outbox WHERE id = ?", (item_id,)).fetchone()
    return _item(hit) if hit else None


def by_message_id(conn: Connection, message_id: str) -> OutboxItem | None:
    hit = cursor(conn).execute(f"SELECT {_COLS} FROM outbox WHERE message_id = ?", (message_id,)).fetchone()
    return _item(hit) if hit else None


def items(conn: Connection, *, account: str | None = None, states: Sequence[str] = (), due: datetime | None = None,
          unfiled: bool = False, limit: int | None = None) -> list[OutboxItem]:  # fmt: skip
    """Outbox rows, oldest first; `due` keeps queued rows whose backoff has passed."""
    where, params = [], []  # type: ignore[var-annotated]
    if account is not None:
        where.append("account = ?")
        params.append(account)
    if states:
        where.append(f"state IN ({', '.join('?' for _ in states)})")
        params.extend(states)
    if due is not None:
        where.append("(next_attempt_at IS NULL OR next_attempt_at <= ?)")
        params.append(to_db_time(due))
    if unfiled:
        where.append("filed = 0")
    sql = f"SELECT {_COLS} FROM outbox" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_item(r) for r in cursor(conn).execute(sql, params)]


def update(conn: Connection, item_id: int, **values: Any) -> None:
    allowed = set(_COLS.replace(" ", "").split(",")) - {"id", "created_at"}
    for name in values:
        if name not in allowed:
            raise ValueError(f"not an outbox column: {name}")
    if "draft" in values:
        values["draft"] = json.dumps(values["draft"], ensure_ascii=False)
    if "rcpts" in values:
        values["rcpts"] = json.dumps(list(values["rcpts"]))
    for name in ("next_attempt_at", "sent_at"):
        if name in values:
            values[name] = to_db_time(values[name])
    values["updated_at"] = _now()
    sets = ", ".join(f"{k} = ?" for k in values)
    cursor(conn).execute(f"UPDATE outbox SET {sets} WHERE id = ?", (*values.values(), item_id))


def delete(conn: Connection, item_id: int) -> bool:
    cur = cursor(conn)
    cur.execute("DELETE FROM outbox WHERE id = ?", (item_id,))
    return cur.rowcount > 0


def counts(conn: Connection) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in cursor(conn).execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")}


def local_copies(conn: Connection, message_id: str) -> int:
    """Stored messages (synced from any folder, or recorded at send) with this Message-ID."""
    hit = cursor(conn).execute("SELECT COUNT(*) FROM messages WHERE message_id = ?", (message_id,)).fetchone()
    return int(hit[0])

