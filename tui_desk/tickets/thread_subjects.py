"""The last-resort rule: the same customer's mail with the same normalised subject, within 30 days.

Stated over messages, so it does not care which arrived first: a *loose* message (no
In-Reply-To, References or tag: `thread_context.is_loose`) belongs with every ticket holding
non-automatic mail of the same customer (from them, or ours to them) with the same subject key
dated within 30 days of it, before or after. `find` asks it for a message being placed. `link`
asks it both ways for a message just placed, whatever placed it: a loose one ties every such
ticket (so it may bridge two), and any one may be the mail an earlier-arrived loose message of
another ticket is within 30 days of. So mail on day 0, 20 and 45 is one conversation in any
order, and two conversations more than 30 days apart stay two.

Messages that name a parent never start a subject match: whether they would need one depends
on whether the parent has arrived yet. They still count as mail of their ticket (a late reply
keeps a conversation open for an Outlook "RE:" without References).

Mail is found through its customer: what they sent, and what we sent them in a ticket of
theirs (one they wrote in or are the requester of; what we sent elsewhere, say Cc to them,
cannot be looked up from their side, so it does not count for them from ours either).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tui_desk.storage.db import to_db_time
from tui_desk.tickets.thread_context import SUBJECT_WINDOW as WINDOW
from tui_desk.tickets.thread_context import Batch


def customers_of(batch: Batch, row: dict[str, Any], *, ours: bool) -> list[str]:
    """Whose mail `row` is: its sender's, or for ours the people it went to."""
    if not ours:
        return [row["from_addr"].lower()]
    pairs = json.loads(row["to_addrs"] or "[]") + json.loads(row["cc_addrs"] or "[]")
    return list(dict.fromkeys(a[1].lower() for a in pairs if len(a) > 1 and a[1].lower() not in batch.agents))


def find(batch: Batch, row: dict[str, Any], *, ours: bool, loose: bool = True, skip: int = 0) -> list[int]:
    """Tickets but `skip` that the subject rule ties `row` to, the one with the latest mail first:
    with mail of its customer and subject near it (any mail if `row` is loose, else loose mail)."""
    w = batch.w
    key = w.key_of_subject(row["subject"])
    if not key:
        return []
    customers = customers_of(batch, row, ours=ours)
    if ours and skip:  # our mail counts for a customer whose ticket it is in, as found from their side
        ticket = w.ticket(skip)
        customers = [c for c in customers if (ticket and ticket["requester_addr"] == c) or w.mail.theirs(c, skip)]
    lo, hi = row.get("window") or row.setdefault("window", window(row["date"]))
    found: dict[int, str] = {}
    for customer in customers:
        for pk in w.mail.near(customer, key, lo, hi, loose=not loose, skip=skip):
            pk = w.survivor(pk)
            ticket = w.ticket(pk) if pk != skip and pk not in found else None
            if ticket and not ticket["hidden"] and not ticket["automatic"]:
                found[pk] = ticket["last_message_at"] or ""
    return sorted(found, key=lambda pk: (found[pk], pk), reverse=True)


def link(batch: Batch, pk: int, row: dict[str, Any], *, loose: bool, ours: bool) -> None:
    """`row` (`loose`: see `is_loose`) was just placed in ticket `pk`: join the tickets the
    subject rule ties it to."""
    w = batch.w
    for other in find(batch, row, ours=ours, loose=loose, skip=pk):
        other = w.survivor(other)
        if other != pk and batch.joinable(pk, other):
            batch.absorb(other, pk, "joined", row["date"])


def window(date: datetime) -> tuple[str, str]:
    """[date - 30 days, date + 30 days] as stored times (`db.to_db_time`; dates are UTC already)."""
    if date.utcoffset():
        return str(to_db_time(date - WINDOW)), str(to_db_time(date + WINDOW))
    naive = date.replace(tzinfo=None)
    return (naive - WINDOW).isoformat(" ", "microseconds"), (naive + WINDOW).isoformat(" ", "microseconds")
