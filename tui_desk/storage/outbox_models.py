"""SQLModel tables for replies: drafts, the outbox queue, templates, composing marks.

The frozen DDL is `migrations/v004_replies.py` (and `v008_composing_events.py`); these classes
are the current shape, checked against it by `tests/test_storage.py`. The code paths use raw
SQL in `storage/outbox.py`, `storage/drafts.py`, `storage/templates.py` and
`storage/composing.py`; these classes are for readers and tools.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class DraftRow(SQLModel, table=True):
    """A reply being written; saved on every change so closing the terminal loses nothing."""

    __tablename__ = "drafts"
    id: int | None = Field(default=None, primary_key=True)
    account: str = ""
    ticket_ref: str = ""
    mode: str = "reply"
    agent: str = ""
    to_addrs: str = "[]"
    cc_addrs: str = "[]"
    subject: str = ""
    body: str = ""
    quote: bool = True
    quoted: str = ""
    signature: str = ""
    attachments: str = "[]"
    status: str = ""
    message_id: str
    """Fixed when the draft is opened: the outbox sends with it, so a retry is the same mail."""
    in_reply_to: str = ""
    refs: str = ""
    template: str = ""
    opened_at: datetime
    updated_at: datetime


class OutboxRow(SQLModel, table=True):
    """One reply on its way: queued -> sending -> sent, or failed with the server's reason."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    account: str
    ticket_ref: str = ""
    agent: str = ""
    draft: str = "{}"
    message_id: str = Field(unique=True)
    mail_from: str
    rcpts: str = "[]"
    self_copy: bool = False
    raw: bytes
    set_status: str = ""
    state: str = "queued"
    stage: str = ""
    """While sending: "" (before the end of DATA: provably not delivered) or "dot" (maybe)."""
    filed: bool = False
    """The copy in the Sent folder exists (or the server files it itself)."""
    error_kind: str = ""
    error: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None


class TemplateRow(SQLModel, table=True):
    """A canned reply. Built-in ones are soft-deleted so they do not come back on the next run."""

    __tablename__ = "templates"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    tags: str = ""
    lang: str = ""
    body: str = ""
    builtin: bool = False
    deleted: bool = False
    updated_at: datetime


class ComposingRow(SQLModel, table=True):
    """"Agent X is answering ticket T since t": a last-writer-wins register per (ticket, agent)
    that team sync carries as `composing` events (v008; see `storage/composing.py`)."""

    __tablename__ = "composing"
    ticket_ref: str = Field(primary_key=True)
    agent: str = Field(primary_key=True)
    since: datetime
    seen_at: datetime
    hlc: str = ""
    active: bool = True
    """False: a clear, kept as a tombstone so an older mark arriving late stays dead."""
    event_id: str = ""
    pushed: bool = True
    """False: a local write this machine has not published yet."""
    shared: bool = False
    """Some state of this row has been on the server (so a clear must be published too)."""
