"""The plain values `DeskService` hands to the screens.

Screens must not see SQL rows or ORM objects (a widget holding a connection-bound object is
how a UI ends up querying from its paint code), so everything crossing the facade is one of
these frozen dataclasses: cheap to cache, safe to pass between a worker thread and the UI.
Text in them is raw mail text; the screens pass it through `screens.safe` before showing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One line of the ticket list."""

    pk: int
    ref: str
    status: str
    priority: str
    subject: str
    requester_name: str
    requester_addr: str
    assignee: str
    created: datetime | None
    updated: datetime | None
    unread: bool
    messages: int
    tags: tuple[str, ...] = ()
    snippet: str = ""
    sort_key: tuple[Any, ...] = ()
    composing: tuple[str, ...] = ()
    """Colleagues writing a reply to it right now (their addresses)."""

    @property
    def requester(self) -> str:
        return self.requester_name or self.requester_addr


@dataclass(frozen=True, slots=True)
class ListPage:
    rows: list[TicketRow]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ViewInfo:
    """A saved view; `count` is None until the counts have been worked out."""

    name: str
    query: str
    builtin: bool
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    message_row: int
    part: str
    name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MessageView:
    row_id: int
    message_id: str
    date: datetime | None
    from_name: str
    from_addr: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    ours: bool
    automatic: bool
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class NoteView:
    author: str
    body: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditView:
    at: datetime | None
    agent: str
    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ref: str
    subject: str
    status: str
    priority: str
    assignee: str
    tags: tuple[str, ...]
    requester_name: str
    requester_addr: str
    organisation: str
    unread: bool
    created: datetime | None
    updated: datetime | None
    messages: tuple[MessageView, ...]
    notes: tuple[NoteView, ...]
    audit: tuple[AuditView, ...]
    merged: tuple[str, ...] = ()
    follow_up_of: str | None = None
    split_from: str | None = None
    composing: tuple[tuple[str, datetime], ...] = ()
    """(agent, since) of colleagues writing a reply to it right now."""

    @property
    def requester(self) -> str:
        return self.requester_name or self.requester_addr


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What a (bulk) change did: the tickets changed and, per ticket that failed, why."""

    done: tuple[str, ...]
    failed: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        text = f"{len(self.done)} ticket{'s' if len(self.done) != 1 else ''} changed"
        if self.failed:
            text += f"; {len(self.failed)} not: " + "; ".join(f"{r}: {why}" for r, why in self.failed[:3])
        return text


@dataclass(frozen=True, slots=True)
class AccountState:
    name: str
    email: str
    state: str
    """"online", "offline", "auth", "tls", "protocol", "error" or "never synced"."""
    reason: str = ""


class CheckResult(NamedTuple):
    """One line of a connection test: what was tried, whether it worked, in plain words."""

    what: str
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """What the setup screen asks for."""

    email: str
    imap_host: str
    imap_port: int
    imap_security: str = "tls"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    username: str = ""
    name: str = "support"
    agent_name: str = ""
    agent_email: str = ""
    ca_file: str = ""
    password_command: str = ""
    timeout: float = 15.0


@dataclass(frozen=True, slots=True)
class SyncNews:
    """A sync pass as the UI sees it (sent from a worker thread)."""

    account: str
    state: str
    reason: str = ""
    new: int = 0
    sent: int = 0
    failed_sends: tuple[str, ...] = field(default_factory=tuple)
    team: int = 0
    """Team events read from the mailbox (colleagues' changes and marks)."""
