"""SQL for canned reply templates. Rules (rendering, search, files) live in `tickets/templates.py`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, to_db_time

_COLS = "id, name, tags, lang, body, builtin"


def _row(r: Any) -> dict[str, Any]:
    return {"id": int(r[0]), "name": r[1], "tags": [t for t in r[2].split(",") if t], "lang": r[3],
            "body": r[4], "builtin": bool(r[5])}  # fmt: skip


def all_templates(conn: Connection) -> list[dict[str, Any]]:
    return [_row(r) for r in cursor(conn).execute(
        f"SELECT {_COLS} FROM templates WHERE deleted = 0 ORDER BY name COLLATE NOCASE"
    )]  # fmt: skip


def by_name(conn: Connection, name: str) -> dict[str, Any] | None:
    hit = cursor(conn).execute(
        f"SELECT {_COLS} FROM templates WHERE name = ? COLLATE NOCASE AND deleted = 0", (name,)
    ).fetchone()
    return _row(hit) if hit else None


def upsert(conn: Connection, name: str, tags: Iterable[str], lang: str, body: str, *, builtin: bool = False) -> int:
    """Create or replace the template called `name` (a deleted built-in comes back)."""
    cur = cursor(conn)
    cur.execute(
        "INSERT INTO templates (name, tags, lang, body, builtin, deleted, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?) "
        "ON CONFLICT(name) DO UPDATE SET tags = excluded.tags, lang = excluded.lang, body = excluded.body, "
        "deleted = 0, updated_at = excluded.updated_at",
        (name, ",".join(tags), lang, body, builtin, to_db_time(datetime.now(UTC))),
    )
    hit = cur.execute("SELECT id FROM templates WHERE name = ?", (name,)).fetchone()
    return int(hit[0])


def rename(conn: Connection, old: str, new: str) -> None:
    cursor(conn).execute("UPDATE templates SET name = ? WHERE name = ? COLLATE NOCASE", (new, old))


def delete(conn: Connection, name: str) -> bool:
    """Built-ins are kept as deleted rows so seeding never brings them back; others go."""
    cur = cursor(conn)
    cur.execute("UPDATE templates SET deleted = 1 WHERE name = ? COLLATE NOCASE AND builtin = 1 AND deleted = 0",
                (name,))  # fmt: skip
    if cur.rowcount:
        return True
    cur.execute("DELETE FROM templates WHERE name = ? COLLATE NOCASE AND builtin = 0", (name,))
    return cur.rowcount > 0


def is_empty(conn: Connection) -> bool:
    return cursor(conn).execute("SELECT 1 FROM templates LIMIT 1").fetchone() is None


def seed(conn: Connection, rows: Iterable[tuple[str, list[str], str, str]]) -> None:
    """Insert built-in templates whose names are not taken (deleted ones included)."""
    now = to_db_time(datetime.now(UTC))
    cursor(conn).executemany(
        "INSERT OR IGNORE INTO templates (name, tags, lang, body, builtin, deleted, updated_at) "
        "VALUES (?, ?, ?, ?, 1, 0, ?)",
        [(name, ",".join(tags), lang, body, now) for name, tags, lang, body in rows],
    )
