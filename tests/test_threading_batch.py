"""Threading in batches follows exactly the rules of threading one message at a time.

`threading.assign` keeps a batch's work in memory and writes it once; these tests thread one
generated mailbox in several ways that the rules say must agree and compare every ticket
(its id and the set of its messages) and how each message was threaded.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tui_desk.demo.mailgen import generate
from tui_desk.mail.parse import parse_message
from tui_desk.storage.db import DB_FILENAME, Database, cursor
from tui_desk.tickets import threading
from tui_desk.tickets.ingest import store

Grouping = tuple[dict[str, frozenset[str]], dict[str, str]]


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 generated messages stored newest first (as a first sync stores them), not threaded."""
    where = tmp_path_factory.mktemp("mailbox")
    db = Database.in_dir(where)
    rng = random.Random(5)
    with db.write() as conn:
        cur = cursor(conn)
        cur.execute("INSERT INTO accounts (name, email, created_at) VALUES ('w', 'support@example.test', '2026-01-01')")
        account = int(cur.lastrowid or 0)
        cur.execute("INSERT INTO folders (account_id, name, special_use) VALUES (?, 'INBOX', '')", (account,))
        folder = int(cur.lastrowid or 0)
        for uid, m in enumerate(reversed(list(generate(2000, seed=23))), 1):
            arrived = m.date + timedelta(seconds=rng.randint(1, 900))
            parsed = parse_message(m.raw, internaldate=arrived)
            store(conn, parsed, m.raw, internaldate=arrived, account_id=account, folder_id=folder, uid=uid)
    db.close()
    return where


@pytest.fixture
def fresh(mailbox: Path, tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Copies of the unthreaded mailbox."""
    opened: list[Database] = []

    def make() -> Database:
        where = tmp_path / f"copy{len(opened)}"
        where.mkdir()
        shutil.copy(mailbox / DB_FILENAME, where / DB_FILENAME)
        opened.append(Database.in_dir(where))
        return opened[-1]

    yield make
    for db in opened:
        db.close()


def _ids_by_date(db: Database) -> list[int]:
    with db.read() as conn:
        return [r[0] for r in cursor(conn).execute("SELECT id FROM messages ORDER BY date, id")]


def _thread(db: Database, batches: list[list[int]], *, one_by_one: bool = False) -> Grouping:
    """Thread each batch in its own transaction; `one_by_one` threads a batch's messages
    separately, oldest first (the order `assign` itself takes them in)."""
    dates = {mid: n for n, mid in enumerate(_ids_by_date(db))}
    for batch in batches:
        with db.write() as conn:
            if one_by_one:
                for mid in sorted(batch, key=dates.__getitem__):
                    threading.assign(conn, [mid])
                continue
            placed = threading.assign(conn, batch)
            now = dict(cursor(conn).execute(
                f"SELECT m.id, t.ref FROM messages m JOIN tickets t ON t.id = m.ticket_id "
                f"WHERE m.id IN ({', '.join('?' * len(batch))})", batch,
            ).fetchall())  # fmt: skip
            assert placed == now  # what assign reports is where the mail is
    return _grouping(db)


def _grouping(db: Database) -> Grouping:
    """(ticket id -> its messages' Message-IDs, Message-ID -> how it was threaded)."""
    tickets: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    with db.read() as conn:
        for ref, msgid, kind in cursor(conn).execute(
            "SELECT t.ref, m.message_id, m.thread_kind FROM messages m JOIN tickets t ON t.id = m.ticket_id"
        ):
            tickets.setdefault(ref, set()).add(msgid)
            kinds[msgid] = kind
    return {ref: frozenset(ids) for ref, ids in tickets.items()}, kinds


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def test_one_big_batch_many_small_batches_and_shuffled_batches_agree(fresh: Callable[[], Database]) -> None:
    """The same arrival (oldest first), handed to `assign` as one batch, as many small ones, and
    with each batch's ids in random order."""
    ids = _ids_by_date(fresh())
    one = _thread(fresh(), [ids])
    assert len(one[0]) > 1000 and len(one[1]) == 2000
    assert {"new", "refs", "subject", "auto"} <= set(one[1].values())
    assert _thread(fresh(), _chunks(ids, 37)) == one
    rng = random.Random(3)
    assert _thread(fresh(), [rng.sample(ids, len(ids))]) == one
    assert _thread(fresh(), [rng.sample(c, len(c)) for c in _chunks(ids, 37)]) == one


@pytest.mark.parametrize("size", [50, 500])
def test_batches_arriving_in_any_order_thread_as_their_messages_would_one_by_one(
    fresh: Callable[[], Database], size: int
) -> None:
    """Replies before originals, auto-replies first, subject-only replies: whatever a batch
    holds, threading it at once ends exactly as threading its messages one after the other."""
    ids = _ids_by_date(fresh())
    newest_first = _chunks(ids[::-1], size)  # how a first sync arrives
    assert _thread(fresh(), newest_first) == _thread(fresh(), newest_first, one_by_one=True)
    random.Random(size).shuffle(ids)
    shuffled = _chunks(ids, size)
    assert _thread(fresh(), shuffled) == _thread(fresh(), shuffled, one_by_one=True)
