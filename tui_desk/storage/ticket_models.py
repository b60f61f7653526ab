"""SQLModel tables for tickets, their workflow state, the audit trail and team events.

The frozen DDL is `migrations/v002_tickets.py`; these classes are the current shape, checked
against it by `tests/test_storage.py`. The hot paths (threading, filters) use raw SQL in
`storage/tickets.py` and `storage/ticket_search.py`; these classes are for readers and tools.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Ticket(SQLModel, table=True):
    """One conversation with a customer. `ref` is the public id, the same on every machine."""

    __tablename__ = "tickets"
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True)
    root: str = ""
    """The Message-ID the ref is derived from (the conversation's root)."""
    root_pinned: bool = False
    """Set for split-off, follow-up and merged-into tickets: threading never re-roots them."""
    subject: str = ""
    subject_key: str = ""
    status: str = "new"
    priority: int = 1
    """0 low, 1 normal, 2 high, 3 urgent: an integer so `priority:>=high` is a range scan."""
    assignee: str = ""
    requester_addr: str = ""
    requester_name: str = ""
    requester_domain: str = ""
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None = None
    first_response_at: datetime | None = None
    solved_at: datetime | None = None
    snippet: str = ""
    unread: bool = False
    message_count: int = 0
    automatic: bool = False
    claimed_tag: str = ""
    """A ticket tag the first mail carried in its subject but was not allowed to join."""
    merged_into: int | None = Field(default=None, foreign_key="tickets.id")
    follow_up_of: int | None = Field(default=None, foreign_key="tickets.id")
    split_from: int | None = Field(default=None, foreign_key="tickets.id")
    hidden: bool = True


class TicketTag(SQLModel, table=True):
    __tablename__ = "ticket_tags"
    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    tag: str = Field(primary_key=True)


class Note(SQLModel, table=True):
    """An internal note; append-only, one per note event (so replays never duplicate it)."""

    __tablename__ = "notes"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id")
    event_id: str = Field(unique=True)
    hlc: str = ""
    """The note's clock reading: notes sort the same on every machine."""
    author: str = ""
    body: str = ""
    created_at: datetime


class AuditEntry(SQLModel, table=True):
    """Who changed what, when, from what to what. Rows with an event_id are rebuilt from events."""

    __tablename__ = "audit"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id")
    event_id: str | None = None
    hlc: str = ""
    at: datetime
    agent: str = ""
    field: str
    old: str = ""
    new: str = ""


class EventRow(SQLModel, table=True):
    """One team event (see `tickets/events.py`); `pushed` once it is in the Events folder."""

    __tablename__ = "events"
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)
    ticket: str
    field: str
    op: str
    value: str = ""
    hlc: str
    agent: str = ""
    pushed: bool = False
    created_at: datetime


class SavedView(SQLModel, table=True):
    __tablename__ = "saved_views"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    query: str
    position: int = 0
    builtin: bool = False


class ThreadKey(SQLModel, table=True):
    """A Message-ID a ticket has seen (own or referenced), for header threading."""

    __tablename__ = "thread_keys"
    msgid: str = Field(primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    key_ref: str


class AgentRow(SQLModel, table=True):
    """An address that belongs to the team: its mail is ours, never a customer's."""

    __tablename__ = "agents"
    address: str = Field(primary_key=True)
    name: str = ""
