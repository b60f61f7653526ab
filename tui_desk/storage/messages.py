"""Reading and writing message rows.

Writes go through the sqlite3 cursor (see `db.cursor`): sync and import insert thousands of rows
a second, and the ORM's per-object bookkeeping would be most of the cost. Callers pass plain
values (no `tui_desk.mail` types) so storage stays independent of the wire.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time

MESSAGE_COLUMNS: tuple[str, ...] = (
    "account_id", "folder_id", "uid", "message_id", "message_id_synthetic", "in_reply_to", "refs",
    "subject", "from_name", "from_addr", "to_addrs", "cc_addrs", "reply_to", "date", "date_source",
    "internaldate", "flags", "size", "text", "html_text", "snippet", "has_attachments",
    "content_hash", "auto_submitted", "list_id", "headers", "problems", "source", "body_parsed",
    "removed", "created_at",
)  # fmt: skip
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in MESSAGE_COLUMNS)})"
)
_INSERT_ATTACHMENT = (
    "INSERT INTO attachments (message_id, filename, original_filename, content_type, size, "
    "part_path, content_id, inline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(slots=True)
class AttachmentRow:
    filename: str
    original_filename: str
    content_type: str
    size: int
    part_path: str
    content_id: str = ""
    inline: bool = False


@dataclass(slots=True)
class MessageRow:
    """Everything a message row holds; built by the ingest code in `tui_desk.tickets`."""

    message_id: str
    subject: str
    from_name: str
    from_addr: str
    date: datetime
    content_hash: str
    message_id_synthetic: bool = False
    in_reply_to: str = ""
    refs: str = ""
    to_addrs: list[list[str]] = field(default_factory=list)
    cc_addrs: list[list[str]] = field(default_factory=list)
    reply_to: list[list[str]] = field(default_factory=list)
    date_source: str = "header"
    internaldate: datetime | None = None
    flags: str = ""
    size: int = 0
    text: str = ""
    html_text: str = ""
    snippet: str = ""
    auto_submitted: str = ""
    list_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    source: str = ""
    body_parsed: bool = True
    account_id: int | None = None
    folder_id: int | None = None
    uid: int | None = None
    attachments: list[AttachmentRow] = field(default_factory=list)

    def values(self, now: datetime) -> tuple[Any, ...]:
        return (
            self.account_id, self.folder_id, self.uid, self.message_id, self.message_id_synthetic,
            self.in_reply_to, self.refs, self.subject, self.from_name, self.from_addr,
            _json(self.to_addrs), _json(self.cc_addrs), _json(self.reply_to), to_db_time(self.date),
            self.date_source, to_db_time(self.internaldate), self.flags, self.size, self.text,
            self.html_text, self.snippet, bool(self.attachments), self.content_hash, self.auto_submitted,
            self.list_id, _json(self.headers), _json(self.problems), self.source, self.body_parsed, False,
            to_db_time(now),
        )  # fmt: skip


def _json(value: object) -> str:
    # Most of these are empty: skip the encoder for them (it shows in a 10k-message first sync).
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value, ensure_ascii=False)


def compress(raw: bytes) -> bytes:
    # Level 6 is zlib's default; mail compresses ~3x and this stays far below parse cost.
    return zlib.compress(raw, 6)


def insert_message(conn: Connection, row: MessageRow, raw: bytes | None, *, compressed: bytes | None = None,
                   index: bool = True) -> int:
    """Insert one message, its attachments and its raw bytes; returns the new row id.

    `compressed` (zlib of `raw`) may be passed by callers that compressed on another thread.
    `index=False` leaves the full-text row to the caller, who must call `index_messages` with the
    new ids in the same transaction (one statement for a whole batch is ~4x cheaper)."""
    cur = cursor(conn)
    cur.execute(_INSERT_MESSAGE, row.values(datetime.now(UTC)))
    new_id = int(cur.lastrowid or 0)
    if index:
        index_messages(conn, [new_id])
    if row.attachments:
        cur.executemany(
            _INSERT_ATTACHMENT,
            [
                (new_id, a.filename, a.original_filename, a.content_type, a.size, a.part_path,
                 a.content_id, a.inline)
                for a in row.attachments
            ],
        )  # fmt: skip
    if raw is not None or compressed is not None:
        cur.execute(
            "INSERT INTO message_raw (message_id, compression, data) VALUES (?, 'zlib', ?)",
            (new_id, compressed if compressed is not None else compress(raw or b"")),
        )
    return new_id


def index_messages(conn: Connection, ids: Sequence[int]) -> None:
    """Add messages to the full-text index (inserts have no trigger since schema v5)."""
    cur = cursor(conn)
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        cur.execute(
            "INSERT INTO message_fts(rowid, subject, from_name, from_addr, text) "
            f"SELECT id, subject, from_name, from_addr, text FROM messages WHERE id IN ({marks})",
            chunk,
        )


def ids_with_hash(conn: Connection, content_hash: str) -> list[int]:
    cur = cursor(conn)
    return [r[0] for r in cur.execute("SELECT id FROM messages WHERE content_hash = ?", (content_hash,))]


def known_hashes(conn: Connection, hashes: Iterable[str]) -> set[str]:
    """Which of these content hashes are stored already (batched, for bulk import)."""
    wanted = list(dict.fromkeys(hashes))
    found: set[str] = set()
    cur = cursor(conn)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        found.update(
            r[0] for r in cur.execute(f"SELECT content_hash FROM messages WHERE content_hash IN ({marks})", chunk)
        )
    return found


def raw_bytes(conn: Connection, message_pk: int) -> bytes | None:
    """The original bytes of a stored message (for re-parsing and saving attachments)."""
    hit = cursor(conn).execute(
        "SELECT compression, data FROM message_raw WHERE message_id = ?", (message_pk,)
    ).fetchone()
    if hit is None:
        return None
    compression, data = hit
    return zlib.decompress(data) if compression == "zlib" else bytes(data)


def list_messages(conn: Connection, *, ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """All stored messages (or the given ones), oldest first, as plain dicts for scripts."""
    cur = cursor(conn)
    sql = (
        "SELECT m.id, m.message_id, m.message_id_synthetic, m.in_reply_to, m.refs, m.subject, "
        "m.from_name, m.from_addr, m.to_addrs, m.cc_addrs, m.date, m.date_source, m.flags, m.size, "
        "m.snippet, m.auto_submitted, m.problems, m.source, m.removed, f.name, m.uid "
        "FROM messages m LEFT JOIN folders f ON f.id = m.folder_id"
    )
    params: list[Any] = []
    if ids is not None:
        sql += f" WHERE m.id IN ({', '.join('?' for _ in ids)})"
        params = list(ids)
    sql += " ORDER BY m.date, m.id"
    rows = cur.execute(sql, params).fetchall()
    attachments: dict[int, list[dict[str, Any]]] = {}
    for mid, fname, orig, ctype, size, part in cur.execute(
        "SELECT message_id, filename, original_filename, content_type, size, part_path FROM attachments "
        "ORDER BY message_id, id"
    ):
        attachments.setdefault(mid, []).append(
            {"name": orig or fname, "filename": fname, "content_type": ctype, "size": size, "part": part}
        )
    out: list[dict[str, Any]] = []
    for r in rows:
        date = from_db_time(r[10])
        out.append(
            {
                "id": r[0],
                "message_id": r[1],
                "message_id_synthetic": bool(r[2]),
                "in_reply_to": r[3],
                "references": r[4].split() if r[4] else [],
                "subject": r[5],
                "from_name": r[6],
                "from_addr": r[7],
                "to": json.loads(r[8]),
                "cc": json.loads(r[9]),
                "date": date.isoformat() if date else None,
                "date_source": r[11],
                "flags": r[12].split(),
                "size": r[13],
                "snippet": r[14],
                "auto_submitted": r[15],
                "problems": json.loads(r[16]),
                "source": r[17],
                "removed": bool(r[18]),
                "folder": r[19],
                "uid": r[20],
                "attachment_names": [a["name"] for a in attachments.get(r[0], [])],
                "attachments": attachments.get(r[0], []),
            }
        )
    return out


def count_messages(conn: Connection) -> int:
    return int(cursor(conn).execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def search_message_ids(conn: Connection, fts_query: str, limit: int = 100) -> list[int]:
    """Message ids matching an FTS5 query string (already built safely by the caller)."""
    cur = cursor(conn)
    return [
        r[0]
        for r in cur.execute(
            "SELECT rowid FROM message_fts WHERE message_fts MATCH ? ORDER BY rank LIMIT ?", (fts_query, limit)
        )
    ]


def pending_bodies(conn: Connection, limit: int, *, after: tuple[str, int] | None = None,
                   ) -> tuple[list[tuple[int, datetime | None, bytes]], tuple[str, int] | None]:  # fmt: skip
    """(row id, INTERNALDATE, raw bytes) of messages stored headers-only, newest first (the
    ones an agent is most likely to open), and the key to pass as `after` for the next page:
    paging by key, not by `body_parsed`, lets the caller have pages in flight before it stores them."""
    where = "m.body_parsed = 0"
    params: list[object] = []
    if after is not None:
        where += " AND (m.date < ? OR (m.date = ? AND m.id < ?))"
        params += [after[0], after[0], after[1]]
    rows = cursor(conn).execute(
        "SELECT m.id, m.internaldate, r.compression, r.data, m.date FROM messages m "
        f"JOIN message_raw r ON r.message_id = m.id WHERE {where} ORDER BY m.date DESC, m.id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    items = [(r[0], from_db_time(r[1]), zlib.decompress(r[3]) if r[2] == "zlib" else bytes(r[3])) for r in rows]
    return items, ((rows[-1][4], rows[-1][0]) if rows else None)


def count_pending_bodies(conn: Connection) -> int:
    return int(cursor(conn).execute("SELECT COUNT(*) FROM messages WHERE body_parsed = 0").fetchone()[0])


def store_body(conn: Connection, message_pk: int, row: MessageRow) -> None:
    """Fill in what the body pass found (text, snippet, attachments, a refined auto-submitted
    verdict). Identity fields (Message-ID, hash, threading headers) are left as they are."""
    cur = cursor(conn)
    cur.execute(
        "UPDATE messages SET text = ?, html_text = ?, snippet = ?, has_attachments = ?, "
        "auto_submitted = CASE WHEN ? != '' THEN ? ELSE auto_submitted END, problems = ?, body_parsed = 1 "
        "WHERE id = ?",
        (row.text, row.html_text, row.snippet, bool(row.attachments), row.auto_submitted, row.auto_submitted,
         json.dumps(row.problems, ensure_ascii=False), message_pk),
    )  # fmt: skip
    cur.execute("DELETE FROM attachments WHERE message_id = ?", (message_pk,))
    if row.attachments:
        cur.executemany(
            _INSERT_ATTACHMENT,
            [(message_pk, a.filename, a.original_filename, a.content_type, a.size, a.part_path, a.content_id,
              a.inline) for a in row.attachments],
        )  # fmt: skip
