"""Helpers for `test_threading_order`: mail stored once, threaded in copies in many arrival orders.

`Mailbox` stores the mail unthreaded (as a sync batch is before `threading.assign`), then each
`thread` call copies that database and threads the copy in the given order and batches; the
result is ticket id -> the Message-IDs in it, which must be the same for every order.
"""

from __future__ import annotations

import itertools
import random
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ticketkit import Desk

from tui_desk.storage.db import DB_FILENAME, Database, cursor
from tui_desk.tickets import threading

Result = dict[str, frozenset[str]]
"""ticket id -> Message-IDs of its mail."""


@dataclass(frozen=True, slots=True)
class Piece:
    """One mail of a case and the folder it is synced from."""

    raw: bytes
    folder: str = "INBOX"


class Mailbox:
    """Mail stored once (unthreaded, as a sync batch is before `assign`), threaded in copies."""

    def __init__(self, where: Path, pieces: Sequence[Piece]) -> None:
        self.where = where
        desk = Desk(where / "base")
        self.ids = [desk.store(p.raw, p.folder) for p in pieces]
        with desk.db.read() as conn:
            by_date = cursor(conn).execute("SELECT id FROM messages ORDER BY date, id").fetchall()
        self.by_date = [r[0] for r in by_date]
        desk.close()
        self.runs = 0

    def thread(self, arrival: Sequence[int], batch: int = 1) -> Result:
        """Thread the stored mail arriving in this order (row ids), `batch` per `assign` call."""
        return self.thread_batches(chunks(list(arrival), batch))

    def thread_batches(self, batches: Sequence[Sequence[int]]) -> Result:
        """Thread a copy of the stored mail, one `assign` call (and transaction) per batch."""
        self.runs += 1
        run = self.where / f"run{self.runs}"
        run.mkdir()
        shutil.copy(self.where / "base" / DB_FILENAME, run / DB_FILENAME)
        db = Database.in_dir(run)
        try:
            for batch in batches:
                with db.write() as conn:
                    threading.assign(conn, list(batch))
            return result_of(db)
        finally:
            db.close()

    def orders(self, sizes: Sequence[int] = (1, 2)) -> Iterator[tuple[str, list[int], int]]:
        """(label, arrival, batch size): oldest first, newest first, and every permutation of a
        small case (a sample of a bigger one), each one message at a time and in batches."""
        old = self.by_date
        yield "oldest first", old, 1
        for size in sizes:
            yield f"newest first x{size}", old[::-1], size
        perms = list(itertools.permutations(old))
        if len(perms) > 40:
            perms = random.Random(len(old)).sample(perms, 40)
        for perm in perms:
            for size in sizes:
                yield f"{perm} x{size}", list(perm), size


def result_of(db: Database) -> Result:
    found: dict[str, set[str]] = {}
    with db.read() as conn:
        for ref, msgid in cursor(conn).execute(
            "SELECT t.ref, m.message_id FROM messages m JOIN tickets t ON t.id = m.ticket_id"
        ):
            found.setdefault(ref, set()).add(msgid)
    return {ref: frozenset(ids) for ref, ids in found.items()}


def same_in_every_order(box: Mailbox, sizes: Sequence[int] = (1, 2)) -> Result:
    """Thread in every order of `box.orders`; all must agree. Returns the result."""
    expected: Result | None = None
    for label, arrival, size in box.orders(sizes):
        got = box.thread(arrival, size)
        if expected is None:
            expected = got
        assert got == expected, f"arrival {label} differs from oldest first"
    assert expected is not None
    return expected


def differences(got: Result, expected: Result) -> list[str]:
    """Readable differences: tickets that are not in both results with the same mail."""
    lines = [f"only here: {ref} {sorted(ids)}" for ref, ids in sorted(got.items()) if expected.get(ref) != ids]
    lines += [f"expected:  {ref} {sorted(ids)}" for ref, ids in sorted(expected.items()) if got.get(ref) != ids]
    return lines


def chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
