"""Sync bookkeeping in SQL: accounts, folders and their IMAP state, local UIDs and flags,
quarantined messages and flag changes waiting to be pushed.

The rule that makes sync crash-safe lives in the callers, but it depends on this module doing
nothing outside the caller's transaction: a folder's UIDNEXT/HIGHESTMODSEQ is written in the
same transaction as (or after) the messages it covers, never before.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, from_db_time, to_db_time


@dataclass(slots=True)
class FolderState:
    id: int
    account_id: int
    name: str
    special_use: str
    uidvalidity: int | None
    uidnext: int | None
    highestmodseq: int | None
    last_sync: datetime | None


def _now() -> str:
    return to_db_time(datetime.now(UTC)) or ""


def ensure_account(conn: Connection, name: str, email: str = "") -> int:
    cur = cursor(conn)
    row = cur.execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
    if row:
        if email:
            cur.execute("UPDATE accounts SET email = ? WHERE id = ? AND email != ?", (email, row[0], email))
        return int(row[0])
    cur.execute("INSERT INTO accounts (name, email, created_at) VALUES (?, ?, ?)", (name, email, _now()))
    return int(cur.lastrowid or 0)


def account_id(conn: Connection, name: str) -> int | None:
    row = cursor(conn).execute("SELECT id FROM accounts WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else None


def _folder(row: Sequence[object]) -> FolderState:
    return FolderState(
        int(row[0]), int(row[1]), str(row[2]), str(row[3]),  # type: ignore[call-overload]
        row[4], row[5], row[6], from_db_time(row[7]),  # type: ignore[arg-type]
    )  # fmt: skip


_FOLDER_COLS = "id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, last_sync"


def ensure_folder(conn: Connection, account: int, name: str, special_use: str = "") -> FolderState:
    cur = cursor(conn)
    cur.execute(
        "INSERT INTO folders (account_id, name, special_use) VALUES (?, ?, ?) "
        "ON CONFLICT(account_id, name) DO UPDATE SET special_use = "
        "CASE WHEN excluded.special_use != '' THEN excluded.special_use ELSE folders.special_use END",
        (account, name, special_use),
    )
    row = cur.execute(
        f"SELECT {_FOLDER_COLS} FROM folders WHERE account_id = ? AND name = ?", (account, name)
    ).fetchone()
    return _folder(row)


def find_folder(conn: Connection, account: int, name: str) -> FolderState | None:
    """The folder's stored state, or None when it was never synced (no write needed)."""
    row = cursor(conn).execute(
        f"SELECT {_FOLDER_COLS} FROM folders WHERE account_id = ? AND name = ?", (account, name)
    ).fetchone()
    return _folder(row) if row else None


def folders(conn: Connection, account: int) -> list[FolderState]:
    rows = cursor(conn).execute(f"SELECT {_FOLDER_COLS} FROM folders WHERE account_id = ? ORDER BY id", (account,))
    return [_folder(r) for r in rows]


def save_folder_state(
    conn: Connection, folder_id: int, *, uidvalidity: int | None, uidnext: int | None, highestmodseq: int | None
) -> None:
    cursor(conn).execute(
        "UPDATE folders SET uidvalidity = ?, uidnext = ?, highestmodseq = ?, last_sync = ? WHERE id = ?",
        (uidvalidity, uidnext, highestmodseq, _now(), folder_id),
    )


def compacted_at(conn: Connection, folder_id: int) -> datetime | None:
    """When this machine last finished compacting this (events) folder, or None if never."""
    row = cursor(conn).execute("SELECT compacted_at FROM folders WHERE id = ?", (folder_id,)).fetchone()
    return from_db_time(row[0]) if row else None


def set_compacted_at(conn: Connection, folder_id: int, at: datetime) -> None:
    cursor(conn).execute("UPDATE folders SET compacted_at = ? WHERE id = ?", (to_db_time(at), folder_id))


def local_uids(conn: Connection, folder_id: int, *, include_removed: bool = False) -> set[int]:
    """UIDs we hold for a folder: stored messages plus quarantined ones (known, set aside)."""
    cur = cursor(conn)
    removed = "" if include_removed else " AND removed = 0"
    uids = {r[0] for r in cur.execute(f"SELECT uid FROM messages WHERE folder_id = ? AND uid IS NOT NULL{removed}",
                                      (folder_id,))}  # fmt: skip
    uids.update(r[0] for r in cur.execute("SELECT uid FROM quarantine WHERE folder_id = ?", (folder_id,)))
    return uids


def held_uids(conn: Connection, folder_id: int, uids: Sequence[int]) -> set[int]:
    """Which of `uids` we hold (stored, removed or quarantined): `local_uids` for one batch, read
    by UID range on the (folder, uid) index, so a batch costs the same at 1k or 100k messages."""
    if not uids:
        return set()
    cur, lo, hi = cursor(conn), min(uids), max(uids)
    found = {r[0] for r in cur.execute("SELECT uid FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ?",
                                       (folder_id, lo, hi))}  # fmt: skip
    found.update(r[0] for r in cur.execute("SELECT uid FROM quarantine WHERE folder_id = ? AND uid BETWEEN ? AND ?",
                                           (folder_id, lo, hi)))  # fmt: skip
    return found & set(uids)


def present_count(conn: Connection, folder_id: int) -> int:
    cur = cursor(conn)
    stored = cur.execute(
        "SELECT COUNT(*) FROM messages WHERE folder_id = ? AND uid IS NOT NULL AND removed = 0", (folder_id,)
    ).fetchone()[0]
    held = cur.execute("SELECT COUNT(*) FROM quarantine WHERE folder_id = ?", (folder_id,)).fetchone()[0]
    return int(stored) + int(held)


def local_flags(conn: Connection, folder_id: int, uids: Iterable[int]) -> dict[int, str]:
    wanted = list(uids)
    out: dict[int, str] = {}
    cur = cursor(conn)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for uid, flags in cur.execute(
            f"SELECT uid, flags FROM messages WHERE folder_id = ? AND uid IN ({marks})", (folder_id, *chunk)
        ):
            out[uid] = flags
    return out


def update_flags(conn: Connection, folder_id: int, changes: dict[int, Iterable[str]]) -> list[int]:
    """Store server flags; returns the message row ids whose flags actually changed."""
    cur = cursor(conn)
    changed: list[int] = []
    for uid, flags in changes.items():
        text = " ".join(sorted(set(flags)))
        hit = cur.execute(
            "SELECT id, flags FROM messages WHERE folder_id = ? AND uid = ?", (folder_id, uid)
        ).fetchone()
        if hit and hit[1] != text:
            cur.execute("UPDATE messages SET flags = ? WHERE id = ?", (text, hit[0]))
            changed.append(int(hit[0]))
    return changed


def mark_removed(conn: Connection, folder_id: int, uids: Iterable[int]) -> int:
    """Mail expunged on the server stays in its ticket's history, marked as removed."""
    cur = cursor(conn)
    n = 0
    for uid in uids:
        cur.execute("UPDATE messages SET removed = 1 WHERE folder_id = ? AND uid = ? AND removed = 0",
                    (folder_id, uid))  # fmt: skip
        n += cur.rowcount
        cur.execute("DELETE FROM quarantine WHERE folder_id = ? AND uid = ?", (folder_id, uid))
    return n


def tickets_of(conn: Connection, folder_id: int, uids: Iterable[int]) -> set[int]:
    """The tickets holding these messages (to refresh them after a change on the server)."""
    cur = cursor(conn)
    found: set[int] = set()
    for uid in uids:
        row = cur.execute("SELECT ticket_id FROM messages WHERE folder_id = ? AND uid = ?", (folder_id, uid)).fetchone()
        if row and row[0] is not None:
            found.add(int(row[0]))
    return found


def messages_for_remap(conn: Connection, folder_id: int) -> list[tuple[int, str, int]]:
    """(row id, Message-ID, size) of a folder's messages, for re-mapping after UIDVALIDITY changed."""
    return [
        (r[0], r[1], r[2])
        for r in cursor(conn).execute(
            "SELECT id, message_id, size FROM messages WHERE folder_id = ? AND uid IS NOT NULL", (folder_id,)
        )
    ]


def reassign_uids(conn: Connection, folder_id: int, mapping: dict[int, int | None]) -> None:
    """Give messages their new UIDs (row id -> uid); None marks a message gone from the server.
    UIDs are cleared first so the unique (folder, uid) index never sees a transient clash."""
    cur = cursor(conn)
    cur.execute("UPDATE messages SET uid = NULL WHERE folder_id = ? AND uid IS NOT NULL", (folder_id,))
    cur.execute("DELETE FROM quarantine WHERE folder_id = ?", (folder_id,))
    for row_id, uid in mapping.items():
        if uid is None:
            cur.execute("UPDATE messages SET removed = 1 WHERE id = ?", (row_id,))
        else:
            cur.execute("UPDATE messages SET uid = ?, removed = 0 WHERE id = ?", (uid, row_id))


def quarantine(conn: Connection, folder_id: int, uid: int, reason: str, raw: bytes | None, size: int) -> None:
    """Set one message aside (too big, unfetchable, unparseable) so the rest of the sync goes on."""
    cursor(conn).execute(
        "INSERT INTO quarantine (folder_id, uid, reason, size, raw, created_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(folder_id, uid) DO UPDATE SET reason = excluded.reason, raw = excluded.raw",
        (folder_id, uid, reason, size, zlib.compress(raw, 6) if raw is not None else None, _now()),
    )


def quarantined(conn: Connection, account: int | None = None) -> list[dict[str, object]]:
    sql = ("SELECT q.id, f.name, q.uid, q.reason, q.size, q.created_at FROM quarantine q "
           "JOIN folders f ON f.id = q.folder_id")  # fmt: skip
    params: tuple[object, ...] = ()
    if account is not None:
        sql += " WHERE f.account_id = ?"
        params = (account,)
    return [
        {"id": r[0], "folder": r[1], "uid": r[2], "reason": r[3], "size": r[4], "when": r[5]}
        for r in cursor(conn).execute(sql + " ORDER BY q.id", params)
    ]


def queue_flag_change(conn: Connection, message_pk: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
    """Record a local flag change (read, answered, flagged) to push on the next sync, and show it
    locally at once."""
    add_s, rem_s = " ".join(sorted(set(add))), " ".join(sorted(set(remove)))
    cur = cursor(conn)
    cur.execute("INSERT INTO flag_ops (message_id, add_flags, remove_flags, created_at) VALUES (?, ?, ?, ?)",
                (message_pk, add_s, rem_s, _now()))  # fmt: skip
    row = cur.execute("SELECT flags FROM messages WHERE id = ?", (message_pk,)).fetchone()
    if row is not None:
        flags = (set(row[0].split()) | set(add_s.split())) - set(rem_s.split())
        cur.execute("UPDATE messages SET flags = ? WHERE id = ?", (" ".join(sorted(flags)), message_pk))


def pending_flag_ops(conn: Connection, folder_id: int) -> list[tuple[int, int, list[str], list[str]]]:
    """(op id, uid, add, remove) for a folder, oldest first."""
    rows = cursor(conn).execute(
        "SELECT o.id, m.uid, o.add_flags, o.remove_flags FROM flag_ops o JOIN messages m ON m.id = o.message_id "
        "WHERE m.folder_id = ? AND m.uid IS NOT NULL AND m.removed = 0 ORDER BY o.id",
        (folder_id,),
    )
    return [(r[0], r[1], r[2].split(), r[3].split()) for r in rows]


def drop_flag_ops(conn: Connection, op_ids: Iterable[int]) -> None:
    cursor(conn).executemany("DELETE FROM flag_ops WHERE id = ?", [(i,) for i in op_ids])


def set_account_status(conn: Connection, account: int, state: str, reason: str = "") -> None:
    cursor(conn).execute(
        "INSERT INTO sync_status (account_id, state, reason, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(account_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, "
        "updated_at = excluded.updated_at",
        (account, state, reason, _now()),
    )


def account_status(conn: Connection, account: int) -> tuple[str, str] | None:
    row = cursor(conn).execute("SELECT state, reason FROM sync_status WHERE account_id = ?", (account,)).fetchone()
    return (row[0], row[1]) if row else None
