"""The root of a conversation: the Message-ID its ticket id is derived from.

It must be a function of the *set* of messages, not of the order they arrived in, or two
agents' machines would name the same conversation differently. Each message declares a root
(the first References id, else In-Reply-To, else itself); a declared root that is itself a
message with a parent is not a root. Of what remains, a referenced-but-missing message counts
as the oldest (it was written before whatever refers to it), then the earliest date wins, then
the smaller id, so every machine picks the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

LOOSE_KINDS = frozenset({"subject", "tag"})


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


def conversation_root(heads: Iterable[tuple[str, str, list[str], datetime | None, str]]) -> str | None:
    """heads: (message_id, in_reply_to, refs, date, thread_kind) of the ticket's messages.

    Mail joined by subject or tag says nothing about the conversation's shape, so it never
    becomes the root: a late "Re:" must not rename a ticket people already talk about."""
    dates: dict[str, datetime | None] = {}
    declared: set[str] = set()
    has_parent: set[str] = set()
    for message_id, in_reply_to, refs, date, kind in heads:
        if kind in LOOSE_KINDS:
            continue
        dates[message_id] = date
        chain = [r for r in parent_chain(refs, in_reply_to) if r != message_id]
        if chain:
            has_parent.add(message_id)
            declared.add(chain[0])
        else:
            declared.add(message_id)
    candidates = (declared - has_parent) or declared
    if not candidates:
        return None

    def key(msgid: str) -> tuple[int, str, str]:
        date = dates.get(msgid)
        return (0, "", msgid) if date is None else (1, date.isoformat(), msgid)

    return min(candidates, key=key)
