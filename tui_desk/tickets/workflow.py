"""Changing a ticket: status, priority, assignee, tags, notes, merge, split, read state.

Every change becomes an event (see `model.Event`) recorded with `pushed = false` and folded
onto the ticket at once, so the local UI and a colleague applying the same event later end
up identical. "Read" is the one exception: it is this agent's own view, not team state.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from tui_desk.storage import ticket_search as search
from tui_desk.storage import tickets as rows
from tui_desk.tickets import apply
from tui_desk.tickets.ids import normalise_ref, ref_for
from tui_desk.tickets.model import OPS, Event, Hlc, InvalidChange, check_value, normalise_tag, valid_address


class TicketNotFound(LookupError):
    """No ticket has this id (or prefix), or the prefix names more than one."""


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    op: str
    value: str


def resolve(conn: Connection, text: str) -> int:
    """The ticket (row id) a person means: any case, unique prefix, or an id it was merged from."""
    ref = normalise_ref(text)
    pk = rows.pk_for_ref(conn, ref)
    if pk is None:
        found = rows.refs_with_prefix(conn, ref, 20)
        visible = [r for r in found if _visible_or_alias(conn, r)]
        targets = {rows.survivor(conn, rows.pk_for_ref(conn, r) or 0) for r in visible}
        if len(targets) != 1:
            if not targets:
                raise TicketNotFound(f"no ticket matches {text.strip()!r}")
            raise TicketNotFound(f"{len(targets)} tickets match {text.strip()!r}: {', '.join(sorted(visible)[:5])}")
        pk = targets.pop()
    pk = rows.survivor(conn, pk)
    ticket = rows.get_ticket(conn, pk)
    if ticket is None or ticket["message_count"] == 0:
        raise TicketNotFound(f"no ticket matches {text.strip()!r}")
    return pk


def _visible_or_alias(conn: Connection, ref: str) -> bool:
    pk = rows.pk_for_ref(conn, ref)
    ticket = rows.get_ticket(conn, rows.survivor(conn, pk)) if pk is not None else None
    return ticket is not None and ticket["message_count"] > 0


def ref_of(conn: Connection, pk: int) -> str:
    ticket = rows.get_ticket(conn, pk)
    if ticket is None:
        raise TicketNotFound(f"no ticket with row id {pk}")
    return str(ticket["ref"])


def _event(conn: Connection, ref: str, change: Change, agent: str) -> Event:
    return Event(ref, change.field, change.op, change.value, apply.next_hlc(conn, agent), agent, uuid.uuid4().hex)


def change(conn: Connection, ticket: str | int, agent: str, changes: Sequence[Change], *,
           at: datetime | None = None) -> list[Event]:  # fmt: skip
    """Apply state changes (validated first, all or nothing) as `agent`; returns the events.

    `at` records changes made in the past (the demo's history, state brought over from another
    help desk): the clock readings take that wall time instead of the next reading of this
    machine's clock, so the ticket's "updated" and its audit trail show when it happened."""
    agent = agent.lower()
    pk = ticket if isinstance(ticket, int) else resolve(conn, ticket)
    ref = ref_of(conn, rows.survivor(conn, pk))
    checked: list[Change] = []
    for c in changes:
        if c.field not in ("status", "priority", "assignee", "tag", "note") or c.op not in OPS[c.field]:
            raise InvalidChange(f"unknown change {c.field} {c.op}")
        value = c.value
        if c.field == "tag":
            value = normalise_tag(value)
        elif c.field == "assignee":
            value = agent if value.lower() == "me" else value.strip().lower()
        elif c.field == "note" and not value.strip():
            raise InvalidChange("a note needs some text")
        check_value(c.field, c.op, value)
        checked.append(Change(c.field, c.op, value))
    rows.add_agent(conn, agent)
    events: list[Event] = []
    last = None
    for c in checked:  # one clock reading each, in order, then a single fold
        if last is None:
            last = str(Hlc.tick(None, agent, int(at.timestamp() * 1000))) if at else apply.next_hlc(conn, agent)
        else:
            last = str(Hlc.tick(last, agent, int(at.timestamp() * 1000) if at else None))
        events.append(Event(ref, c.field, c.op, c.value, last, agent, uuid.uuid4().hex))
    apply.record(conn, events, pushed=False)
    return events


def set_status(conn: Connection, ticket: str | int, status: str, agent: str) -> list[Event]:
    return change(conn, ticket, agent, [Change("status", "set", status)])


def set_priority(conn: Connection, ticket: str | int, priority: str, agent: str) -> list[Event]:
    return change(conn, ticket, agent, [Change("priority", "set", priority)])


def assign_to(conn: Connection, ticket: str | int, assignee: str, agent: str) -> list[Event]:
    """Assign to an agent address ("me" = `agent`), or unassign with ""."""
    return change(conn, ticket, agent, [Change("assignee", "set", assignee)])


def add_tag(conn: Connection, ticket: str | int, tag: str, agent: str) -> list[Event]:
    return change(conn, ticket, agent, [Change("tag", "add", tag)])


def remove_tag(conn: Connection, ticket: str | int, tag: str, agent: str) -> list[Event]:
    return change(conn, ticket, agent, [Change("tag", "remove", tag)])


def add_note(conn: Connection, ticket: str | int, body: str, agent: str) -> list[Event]:
    return change(conn, ticket, agent, [Change("note", "add", body)])


def merge(conn: Connection, source: str | int, target: str | int, agent: str) -> Event:
    """Merge `source` into `target`: its mail, notes and history move; its id keeps resolving."""
    src = source if isinstance(source, int) else resolve(conn, source)
    dst = target if isinstance(target, int) else resolve(conn, target)
    src, dst = rows.survivor(conn, src), rows.survivor(conn, dst)
    if src == dst:
        raise InvalidChange("these are already the same ticket")
    rows.add_agent(conn, agent.lower())
    e = _event(conn, ref_of(conn, src), Change("merge", "into", ref_of(conn, dst)), agent.lower())
    apply.record(conn, [e], pushed=False)
    return e


def split(conn: Connection, ticket: str | int, message_pk: int, agent: str) -> str:
    """Move one message (and its copies) out into a new ticket; returns the new ticket's id."""
    pk = rows.survivor(conn, ticket if isinstance(ticket, int) else resolve(conn, ticket))
    messages = search.ticket_messages(conn, pk)
    chosen = next((m for m in messages if m["id"] == message_pk), None)
    if chosen is None:
        raise InvalidChange(f"message {message_pk} is not in ticket {ref_of(conn, pk)}")
    if len(messages) < 2:
        raise InvalidChange("a ticket with one message cannot be split")
    content_hash = rows.messages_with_id(conn, chosen["message_id"])
    chash = next((h for mid, _t, h in content_hash if mid == message_pk), "")
    new_ref = _split_ref(conn, chosen["message_id"])
    value = json.dumps({"message_id": chosen["message_id"], "content_hash": chash, "from": ref_of(conn, pk)})
    rows.add_agent(conn, agent.lower())
    e = _event(conn, new_ref, Change("split", "off", value), agent.lower())
    apply.record(conn, [e], pushed=False)
    return new_ref


def _split_ref(conn: Connection, message_id: str) -> str:
    """An unused ref for a split-off message (its own root's ref may be the old ticket's)."""
    for salt in range(100):
        seed = message_id if salt == 0 else f"{message_id}\0split\0{salt}"
        ref = ref_for(seed)
        if rows.pk_for_ref(conn, ref) is None:
            return ref
    return ref_for(hashlib.sha256(uuid.uuid4().bytes).hexdigest())


def mark_read(conn: Connection, ticket: str | int, unread: bool = False) -> None:
    """This agent has (not) read the ticket: local only, never an event."""
    pk = rows.survivor(conn, ticket if isinstance(ticket, int) else resolve(conn, ticket))
    rows.update_ticket(conn, pk, unread=unread)


def parse_assignments(items: Sequence[str]) -> list[Change]:
    """`status=solved priority=high tag+=billing tag-=spam assignee=ana@x assignee= note="..."`."""
    out: list[Change] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidChange(f"{item!r}: expected field=value (status, priority, assignee, tag+, tag-, note)")
        name = name.strip().lower()
        if name == "status":
            out.append(Change("status", "set", value.strip().lower()))
        elif name == "priority":
            out.append(Change("priority", "set", value.strip().lower()))
        elif name == "assignee":
            value = value.strip()
            if value and value.lower() != "me" and not valid_address(value):
                raise InvalidChange(f"assignee must be an address, me, or empty, not {value!r}")
            out.append(Change("assignee", "set", value))
        elif name in ("tag+", "tag-"):
            out.append(Change("tag", "add" if name == "tag+" else "remove", value))
        elif name == "note":
            out.append(Change("note", "add", value))
        else:
            raise InvalidChange(f"unknown field {name!r}; use status, priority, assignee, tag+, tag-, note")
    for c in out:
        if c.field in ("status", "priority"):
            check_value(c.field, c.op, c.value)
    return out


