"""Whose mail the subject rule compares, for one threading batch (`thread_batch.Workset`).

For each customer it asks about: their non-automatic mail dated near the batch (from them, or
ours to them in a ticket of theirs: one they are the requester of or wrote in) with a subject
key of the batch's mail, as (date, subject key, loose, ticket). Which tickets are theirs is
read for a whole batch in one query per chunk of customers; their mail likewise, but only once
a question needs it (asked from a ticket, a customer with no other ticket, the usual case,
needs none); both are kept up to date as the batch places mail. The rule itself is
`tickets.thread_subjects`; which mail is loose is the caller's `loose_of`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from tui_desk.storage.thread_sql import chunks, marks

Mail = tuple[str, bool, int]
"""(date, loose, ticket id) of one message, kept under its customer and subject key: a sender
with thousands of mail (a notifier without Auto-Submitted, our own address when it is not
configured as ours) costs a lookup per question, not a scan of all their mail."""
ByKey = dict[str, list[Mail]]


def _addresses(to: str, cc: str) -> list[str]:
    """The addresses of stored To and Cc (JSON lists of [name, address]), lower-case."""
    return [p[1].lower() for p in json.loads(to or "[]") + json.loads(cc or "[]") if len(p) > 1 and p[1]]


class CustomerMail:
    """customer -> their tickets and mail near the batch (see the module doc). Ticket ids are as
    noted: callers follow merges (`survivor`)."""

    def __init__(self, cur: Any, key_of: Callable[[str], str], loose_of: Callable[[str, str, str], bool],
                 survivor: Callable[[int], int], cache: Callable[[list[int]], None]) -> None:  # fmt: skip
        """`survivor` follows merges; `cache` is given the tickets whose mail was read (their rows
        are asked about next)."""
        self.cur, self.key_of, self.loose_of, self.survivor, self.cache = cur, key_of, loose_of, survivor, cache
        self.lo, self.hi = "", ""
        self.keys: set[str] = set()
        self.tickets_of: dict[str, set[int]] = {}
        self.stored: dict[str, ByKey] = {}  # read from the database
        self.placed: dict[str, ByKey] = {}  # placed by this batch

    def window(self, lo: str, hi: str, keys: Iterable[str]) -> None:
        """Mail dated in [lo, hi] (stored times) with one of these subject keys is all the batch
        will ask about."""
        self.lo, self.hi, self.keys = lo, hi, set(keys)

    def load(self, customers: Iterable[str]) -> None:
        """Note which tickets are these customers' (those not noted yet)."""
        wanted = [c for c in dict.fromkeys(customers) if c and c not in self.tickets_of]
        for customer in wanted:
            self.tickets_of[customer] = set()
        for chunk in chunks(wanted):
            for customer, pk in self.cur.execute(
                f"SELECT requester_addr, id FROM tickets WHERE hidden = 0 AND requester_addr IN ({marks(chunk)}) "
                f"UNION SELECT from_addr, ticket_id FROM messages WHERE from_addr IN ({marks(chunk)}) "
                "AND ticket_id IS NOT NULL", chunk + chunk,
            ):  # fmt: skip
                self.tickets_of[customer].add(pk)

    def read(self, customers: Iterable[str]) -> list[int]:
        """Read from the database the mail of these customers (noted ones with tickets, not read
        yet); returns the tickets it is in (as noted)."""
        wanted = [c for c in dict.fromkeys(customers) if self.tickets_of.get(c) and c not in self.stored]
        theirs: dict[int, list[str]] = {}
        for customer in wanted:
            self.stored[customer] = {}
            for pk in self.tickets_of[customer]:
                theirs.setdefault(pk, []).append(customer)
        key_of, keys, stored = self.key_of, self.keys, self.stored
        for part in chunks(sorted(theirs)):
            for pk, date, subject, frm, to, cc, ours, irt, refs in self.cur.execute(
                "SELECT ticket_id, date, subject, from_addr, to_addrs, cc_addrs, ours, in_reply_to, refs "
                f"FROM messages WHERE ticket_id IN ({marks(part)}) AND auto_submitted = '' "
                "AND duplicate_of IS NULL AND removed = 0 AND date BETWEEN ? AND ?", (*part, self.lo, self.hi),
            ):  # fmt: skip
                key = key_of(subject)
                if key not in keys:
                    continue
                who = [c for c in theirs[pk] if c in _addresses(to, cc)] if ours else [c for c in theirs[pk] if c == frm]
                if who:
                    mail = (date, self.loose_of(subject, irt, refs), pk)
                    for customer in who:
                        stored[customer].setdefault(key, []).append(mail)
        return sorted(theirs)

    def add(self, pk: int, row: dict[str, Any], *, ours: bool, requester: str) -> None:
        """Non-automatic mail `row` was placed in ticket `pk`, whose requester is `requester`."""
        if ours:
            who = [c for c in _addresses(row["to_addrs"], row["cc_addrs"]) if self.theirs(c, pk) or c == requester]
            if requester in who:
                self.tickets_of[requester].add(pk)
        else:
            who = [row["from_addr"].lower()]
            if who[0] not in self.tickets_of:
                self.load(who)
            self.tickets_of[who[0]].add(pk)
        if who:
            key = self.key_of(row["subject"])
            mail = (row["date_text"], self.loose_of(row["subject"], row["in_reply_to"], " ".join(row["refs"])), pk)
            for customer in who:
                self.placed.setdefault(customer, {}).setdefault(key, []).append(mail)

    def near(self, customer: str, key: str, lo: str, hi: str, *, loose: bool, skip: int) -> list[int]:
        """Tickets but `skip` with mail of `customer`'s with subject key `key` dated in [lo, hi]
        (only loose mail, with `loose`)."""
        if customer not in self.tickets_of:
            self.load([customer])
        for t in self.tickets_of[customer]:
            if t != skip and self.survivor(t) != skip:
                break
        else:
            return []  # the usual answer: no other ticket of theirs
        if customer not in self.stored:  # then neither are the others noted so far: read them all
            self.cache(self.read([customer, *self.tickets_of]))
        mail = self.stored.get(customer, {}).get(key, []) + self.placed.get(customer, {}).get(key, [])
        return [pk for date, is_loose, pk in mail if lo <= date <= hi and (is_loose or not loose)]

    def theirs(self, customer: str, pk: int) -> bool:
        """Whether ticket `pk` holds mail `customer` wrote or was noted as theirs (as requester)."""
        if customer not in self.tickets_of:
            self.load([customer])
        return any(self.survivor(t) == pk for t in self.tickets_of[customer])
