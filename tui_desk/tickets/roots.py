"""The root of a conversation: the Message-ID its ticket id is derived from.

It must be a function of the *set* of messages, not of the order they arrived in, or two
agents' machines would name the same conversation differently.

A ticket's mail falls into header threads: messages linked by Message-ID / In-Reply-To /
References (a subject- or tag-joined message with no headers is a thread of its own). Each
thread has a root: every message declares one (the first References id, else In-Reply-To,
else itself); a declared root that is itself a message with a parent is not a root; of what
remains, a referenced-but-missing message counts as the oldest (it was written before
whatever refers to it), then the earliest date wins, then the smaller id. The ticket's root is
the root of its earliest thread (by its earliest message present, then by root), so a later
"Re:" joined by subject never renames a ticket, and one dated earlier does so on every machine
alike (which is what the machine that had it first already shows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

Head = tuple[str, str, list[str], datetime | None, str]
"""(message_id, in_reply_to, refs, date, thread_kind) of one non-automatic message."""


def parent_chain(refs: Sequence[str], in_reply_to: str) -> list[str]:
    """Ancestors, oldest first: References, then In-Reply-To if References lacked it."""
    chain = [r for r in refs if r]
    if in_reply_to and in_reply_to not in chain:
        chain.append(in_reply_to)
    return chain


def declared_root(row: dict[str, Any]) -> str:
    """The root a single message points at."""
    chain = parent_chain(row["refs"], row["in_reply_to"])
    return chain[0] if chain and chain[0] != row["message_id"] else row["message_id"]


def _thread_root(heads: list[tuple[str, list[str], datetime | None]]) -> str:
    """The root of one header thread: (message_id, parent chain, date) of its messages."""
    dates = {m: d for m, _c, d in heads}
    declared = {chain[0] if chain else m for m, chain, _d in heads}
    has_parent = {m for m, chain, _d in heads if chain}
    candidates = (declared - has_parent) or declared

    def key(msgid: str) -> tuple[int, str, str]:
        date = dates.get(msgid)
        return (0, "", msgid) if date is None else (1, date.isoformat(), msgid)

    return min(candidates, key=key)


def conversation_root(heads: Iterable[Head]) -> str | None:
    """The root of a ticket whose non-automatic messages are `heads` (see the module doc)."""
    rows = []
    up: dict[str, str] = {}

    def find(x: str) -> str:
        while up.get(x, x) != x:
            up[x] = up.get(up[x], up[x])
            x = up[x]
        return x

    for message_id, in_reply_to, refs, date, _kind in heads:
        chain = [r for r in parent_chain(refs, in_reply_to) if r != message_id]
        rows.append((message_id, chain, date))
        for r in chain:
            a, b = find(message_id), find(r)
            if a != b:
                up[a] = b
    if not rows:
        return None
    if len(rows) == 1:
        return _thread_root(rows)
    threads: dict[str, list[tuple[str, list[str], datetime | None]]] = {}
    for row in rows:
        threads.setdefault(find(row[0]), []).append(row)
    if len(threads) == 1:
        return _thread_root(rows)

    def first(members: list[tuple[str, list[str], datetime | None]]) -> str:
        return min((d.isoformat() for _m, _c, d in members if d is not None), default="")

    roots = sorted((first(members), _thread_root(members)) for members in threads.values())
    return roots[0][1]
