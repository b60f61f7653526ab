"""Threading's waits, as rows of `thread_keys`: a row whose msgid starts with `WAIT` (never a
Message-ID: those cannot hold "<") says "this ticket waits for a Message-ID whose ref is
key_ref"; the rest of the msgid says for what (see `tickets.thread_waits`). Kept in the keys'
table so that the queries loading a batch's keys load the waits for them at no cost.

`WaitRows` is `thread_batch.Workset`'s half that reads and writes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

WAIT = "<"
"""The first character of a wait's msgid."""


def marks(items: Sequence[Any]) -> str:
    return ", ".join("?" * len(items))


class WaitRows:
    """Waits by key_ref and by waiting ticket, for `thread_batch.Workset` (whose `load` fills
    them, and whose `absorbed` moves them along with their ticket)."""

    cur: Any
    key_refs: dict[str, set[int]]
    waits: dict[str, set[tuple[str, int]]]  # key_ref -> {(wait msgid, waiting ticket)}, if any
    waits_of: dict[int, set[tuple[str, str]]]  # waiting ticket -> {(key_ref, wait msgid)}
    new_keys: list[tuple[str, int, str]]
    moves: list[tuple[int, int]]

    def load(self, msgids: Iterable[str], refs: Iterable[str], own: Iterable[str] = ()) -> None:
        raise NotImplementedError

    def survivor(self, pk: int) -> int:
        raise NotImplementedError

    def add_wait(self, pk: int, wait: str, key_ref: str) -> None:
        """Ticket `pk` waits for a Message-ID whose ref is `key_ref`; `wait` (starting with `WAIT`)
        says for what."""
        if key_ref not in self.key_refs:
            self.load((), [key_ref])
        self.new_keys.append((wait, pk, key_ref))
        self.waits.setdefault(key_ref, set()).add((wait, pk))
        self.waits_of.setdefault(pk, set()).add((key_ref, wait))

    def waits_for(self, key_ref: str) -> list[tuple[str, int]]:
        """(wait, waiting ticket) of the waits for `key_ref`."""
        if key_ref not in self.key_refs:
            self.load((), [key_ref])
        return sorted(self.waits.get(key_ref, ()))

    def any_waits(self, prefix: str) -> bool:
        """Whether any wait starting with `prefix` is stored (the usual answer, no, is cheap)."""
        hit = self.cur.execute("SELECT 1 FROM thread_keys WHERE msgid >= ? AND msgid < ? LIMIT 1",
                               (prefix, prefix + "\U0010ffff")).fetchone()  # fmt: skip
        return hit is not None

    def refs_naming(self, pks: Iterable[int]) -> list[tuple[int, str]]:
        """(ticket, ref) for every ref that names one of these (flushed) tickets: its own, those of
        the tickets merged into it, and the refs of the Message-IDs it has seen."""
        return [(int(pk), ref) for pk, ref in self.cur.execute(
            "WITH RECURSIVE fam(top, id) AS (SELECT value, value FROM json_each(?) UNION "
            "SELECT fam.top, t.id FROM fam JOIN tickets t ON t.merged_into = fam.id) "
            "SELECT fam.top, t.ref FROM fam JOIN tickets t ON t.id = fam.id UNION "
            "SELECT fam.top, k.key_ref FROM fam JOIN thread_keys k ON k.ticket_id = fam.id "
            f"WHERE substr(k.msgid, 1, 1) != '{WAIT}'", (json.dumps(sorted(set(pks))),),
        )]  # fmt: skip

    def drop_waits(self, pk: int, prefix: str) -> None:
        """Forget the waits of ticket `pk` that start with `prefix` (they were answered)."""
        gone = {(ref, wait) for ref, wait in self.waits_of.get(pk, ()) if wait.startswith(prefix)}
        for ref, wait in gone:
            self.waits[ref].discard((wait, pk))
            self.waits_of[pk].discard((ref, wait))
        # the rows may still be under a ticket joined into `pk` (until `flush` moves them)
        ids = sorted({pk} | {src for src, _dst in self.moves if self.survivor(src) == self.survivor(pk)})
        self.new_keys = [k for k in self.new_keys if not (k[1] in ids and k[0].startswith(prefix))]
        self.cur.execute(f"DELETE FROM thread_keys WHERE msgid >= ? AND msgid < ? AND ticket_id IN ({marks(ids)})",
                         (prefix, prefix + "\U0010ffff", *ids))  # fmt: skip

    def parents_of(self, message_id: str) -> tuple[str, list[str]]:
        """(In-Reply-To, References) of a stored message."""
        hit = self.cur.execute("SELECT in_reply_to, refs FROM messages WHERE message_id = ? LIMIT 1",
                               (message_id,)).fetchone()  # fmt: skip
        return (hit[0], hit[1].split()) if hit else ("", [])
