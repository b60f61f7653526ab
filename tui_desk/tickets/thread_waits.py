"""Waits: mail that names something this machine has not seen yet, joined when it comes.

Two rules decide from what a message *names* rather than from what it matches: an auto-reply
or bounce joins the ticket of the mail it answers, and a mail carrying our tag joins that
ticket. If that mail or ticket has not arrived yet (a first sync goes newest first), the
message stands apart for now and its ticket waits (a `thread_waitrows.WAIT` row in
`thread_keys`). Whenever a ticket gains a Message-ID, the waits for that id are answered: the
waiting ticket joins it, exactly as if the message had arrived after what it names.

* `<auto MSGID RANK MODE>PARENT`, key_ref = ref_for(PARENT): auto-reply MSGID answers PARENT,
  its RANK-th nearest parent (In-Reply-To first, then References from the end). An auto-reply
  belongs with its nearest parent that is here. Standing apart (MODE "a"), its ticket joins
  the first parent to turn up; having joined one (MODE "m"), it waits only for nearer ones and
  moves on, alone, to the one that turns up. It never joins two conversations.
* `<tag SENDER>REF`, key_ref = REF: a mail from SENDER ("" for ours) carries tag REF. Answered
  when a ticket gains the Message-ID the ref is derived from (the conversation's root), or at
  the end of a batch by a ticket it touched that the ref names (its id, an id it had, a
  Message-ID it has seen), once SENDER is one of its participants. A ticket kept apart (closed,
  split) keeps it waiting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tui_desk.storage.thread_waitrows import WAIT
from tui_desk.storage.tickets import db_time
from tui_desk.tickets.ids import tags_in_subject
from tui_desk.tickets.thread_context import Batch

AUTO = WAIT + "auto "
TAG = WAIT + "tag "


def nearest_parents(in_reply_to: str, refs: list[str]) -> list[str]:
    """What an auto-reply answers, nearest first: In-Reply-To, then References from the end."""
    return [p for p in dict.fromkeys([in_reply_to, *reversed(refs)]) if p]


def wait_for_parents(batch: Batch, pk: int, message_id: str, parents: list[str], *, joined: bool) -> None:
    """Auto-reply `message_id`, in ticket `pk`, answers `parents` (its nearest ones, nearest
    first) that are not here yet; `joined`: it is in the ticket of a farther one."""
    mode = "m" if joined else "a"
    for rank, parent in enumerate(parents):
        batch.w.add_wait(pk, f"{AUTO}{message_id} {rank} {mode}>{parent}", batch.ref(parent))


def follow_tags(batch: Batch, pk: int, row: dict[str, Any], *, ours: bool) -> None:
    """`row`, just placed in ticket `pk`, carries our tags: the tickets they name join `pk`
    whatever placed it (so whether its headers found a ticket first does not matter), if its
    sender is one of their participants (or we are); tickets not here yet, or not open to the
    sender yet, are waited for."""
    tags = tags_in_subject(row["subject"])
    if not tags:
        return
    w = batch.w
    sender = "" if ours else row["from_addr"].lower()
    for tag in dict.fromkeys(tags):
        other = w.pk_for_ref(tag)
        other = w.owner_of_key_ref(tag) if other is None else other
        other = w.survivor(other) if other is not None else None
        if other == pk:
            continue
        if other is None or not (ours or sender in w.participants(other)):
            w.add_wait(pk, f"{TAG}{sender}>{tag}", tag)
        elif batch.joinable(pk, other, tag=True):
            batch.absorb(other, pk, "joined", row["date"])


def answer(batch: Batch, pk: int, keys: Iterable[tuple[str, str]], at: datetime) -> None:
    """Ticket `pk` has just seen these (Message-ID, ref) keys: the tickets waiting for them join it."""
    waits = batch.w.waits
    for msgid, ref in keys:
        if waits.get(ref):
            for wait, waiter in batch.w.waits_for(ref):
                _answer(batch, batch.w.survivor(pk), wait, waiter, msgid, at)


def answer_tags(batch: Batch, pks: Iterable[int]) -> set[int]:
    """Tag waits for these (flushed) tickets under every ref that names them (renamed, joined
    with another, or the ref of a Message-ID they have seen), now that they may have gained the
    participant a wait needs. Returns the tickets that another joined."""
    w = batch.w
    if not w.any_waits(TAG):
        return set()
    naming = w.refs_naming(pks)
    w.load((), [ref for _pk, ref in naming])
    joined: set[int] = set()
    for pk, ref in naming:
        for wait, waiter in w.waits_for(ref) if w.waits.get(ref) else ():
            if wait.startswith(TAG) and _answer(batch, w.survivor(pk), wait, waiter, "", None):
                joined.add(w.survivor(pk))
    return joined


def _answer(batch: Batch, pk: int, wait: str, waiter: int, msgid: str, at: datetime | None) -> bool:
    """Answer one wait of ticket `waiter` with ticket `pk`; True if the waiter joined it."""
    if wait.startswith(AUTO):
        return _answer_auto(batch, pk, wait, waiter, msgid, at)
    if not wait.startswith(TAG):
        return False
    w = batch.w
    waiting = w.survivor(waiter)
    if waiting == pk:
        w.drop_waits(waiter, wait)
        return False
    sender = wait[len(TAG) :].partition(">")[0]
    if sender and sender not in w.participants(pk):
        return False  # not (yet) one of the conversation's people: keep waiting
    if not batch.joinable(pk, waiting, tag=True):
        return False  # kept apart for now (closed, split): keep waiting
    w.drop_waits(waiter, wait)
    batch.absorb(waiting, pk, "joined", at or _now(batch, pk))
    return True


def _answer_auto(batch: Batch, pk: int, wait: str, waiter: int, msgid: str, at: datetime | None) -> bool:
    """`msgid`, now in ticket `pk`, is what auto-reply's wait `wait` is for: it joins (or moves)."""
    head, _, parent = wait[len(AUTO) :].partition(">")
    if parent != msgid:
        return False
    auto_id, rank, mode = head.split(" ")
    w = batch.w
    holder = w.survivor(waiter)
    w.drop_waits(waiter, f"{AUTO}{auto_id} ")
    nearer = nearest_parents(*w.parents_of(auto_id))[: int(rank)]
    ticket = w.ticket(holder)
    joined = False
    if holder == pk or ticket is None or ticket["split_from"]:
        pass
    elif mode == "a":
        batch.absorb(holder, pk, "joined", at or _now(batch, pk))
        joined = True
    else:
        w.move_mail(auto_id, holder, pk)
        w.refresh(holder)
        w.refresh(pk)
        batch.touched.update((holder, pk))
    if nearer:
        wait_for_parents(batch, w.survivor(pk), auto_id, nearer, joined=True)
    return joined


def _now(batch: Batch, pk: int) -> datetime:
    """When a join found at the end of a batch happened, for its audit line: the ticket's latest mail."""
    ticket = batch.w.ticket(pk)
    return (db_time(ticket["last_message_at"]) if ticket else None) or datetime.now(UTC)
