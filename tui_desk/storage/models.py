"""SQLModel tables: the current shape of the schema.

The *history* of the schema lives in `migrations/` as frozen DDL; these classes are what the
code reads and writes today. `tests/test_storage.py` checks that a database built by the
migrations has every column declared here, so the two cannot drift apart silently.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    """A mailbox we sync. The config file is the source of truth for settings; this row anchors data."""

    __tablename__ = "accounts"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    email: str = ""
    created_at: datetime


class Folder(SQLModel, table=True):
    """An IMAP folder and the sync state that says how far we got (RFC 3501 / RFC 7162)."""

    __tablename__ = "folders"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id", index=True)
    name: str
    special_use: str = ""
    uidvalidity: int | None = None
    uidnext: int | None = None
    highestmodseq: int | None = None
    last_sync: datetime | None = None
    compacted_at: datetime | None = None
    """Events folder only: when this machine last compacted the team event log."""


class Message(SQLModel, table=True):
    """One copy of a mail. Imported mail has no folder/uid; synced mail has both.

    Identity is the content hash, not the Message-ID: web forms reuse Message-IDs, and a
    Message-ID alone would silently drop the second of two different mails.
    """

    __tablename__ = "messages"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="accounts.id", index=True)
    folder_id: int | None = Field(default=None, foreign_key="folders.id")
    uid: int | None = None
    message_id: str = Field(index=True)
    message_id_synthetic: bool = False
    in_reply_to: str = ""
    refs: str = ""
    """Space-separated References ids (column not named `references`: an SQL keyword)."""
    subject: str = ""
    from_name: str = ""
    from_addr: str = Field(default="", index=True)
    to_addrs: str = "[]"
    cc_addrs: str = "[]"
    reply_to: str = "[]"
    date: datetime = Field(index=True)
    date_source: str = "header"
    internaldate: datetime | None = None
    flags: str = ""
    size: int = 0
    text: str = ""
    html_text: str = ""
    snippet: str = ""
    has_attachments: bool = False
    content_hash: str = Field(index=True)
    auto_submitted: str = ""
    list_id: str = ""
    headers: str = "{}"
    problems: str = "[]"
    source: str = ""
    body_parsed: bool = True
    removed: bool = False
    created_at: datetime
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id")
    thread_kind: str = ""
    """How threading placed it ("refs", "tag", "subject", "new", ...); "" = not threaded yet."""
    duplicate_of: int | None = None
    """Another copy of the same mail (same Message-ID and content) in the same ticket."""
    ours: bool = False
    """Sent by the team (Sent folder or an agent address), not by a customer."""


class MessageRaw(SQLModel, table=True):
    """The raw bytes, zlib-compressed, kept apart so list queries never page them in."""

    __tablename__ = "message_raw"
    message_id: int = Field(foreign_key="messages.id", primary_key=True)
    compression: str = "zlib"
    data: bytes


class Attachment(SQLModel, table=True):
    """A non-body MIME part; its bytes are re-extracted from the raw message by `part_path`."""

    __tablename__ = "attachments"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    filename: str
    original_filename: str = ""
    content_type: str = "application/octet-stream"
    size: int = 0
    part_path: str = ""
    content_id: str = ""
    inline: bool = False


class Contact(SQLModel, table=True):
    """A person who wrote to us; organisation is derived from the mail domain."""

    __tablename__ = "contacts"
    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(unique=True)
    name: str = ""
    organisation: str = ""
    first_seen: datetime
    last_seen: datetime
    message_count: int = 0


# The ticket tables live in their own module; importing it here registers them with SQLModel's
# metadata wherever the message tables are registered.
from tui_desk.storage import ticket_models as ticket_models  # noqa: E402


class Quarantine(SQLModel, table=True):
    """A message set aside by sync (too big, refused by the server): reported, never blocking."""

    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    folder_id: int = Field(foreign_key="folders.id")
    uid: int
    reason: str
    size: int = 0
    raw: bytes | None = None
    created_at: datetime


class FlagOp(SQLModel, table=True):
    """A local flag change (read, answered, flagged) waiting to be pushed to the server."""

    __tablename__ = "flag_ops"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    add_flags: str = ""
    remove_flags: str = ""
    created_at: datetime


class SyncStatus(SQLModel, table=True):
    """Each account's last known state: online, offline (with the reason), syncing, error."""

    __tablename__ = "sync_status"
    account_id: int = Field(foreign_key="accounts.id", primary_key=True)
    state: str
    reason: str = ""
    updated_at: datetime


# The reply tables (drafts, outbox, templates, composing) live in their own module, registered
# the same way as the ticket tables.
from tui_desk.storage import outbox_models as outbox_models  # noqa: E402
