"""Turning a parsed mail into stored rows: the one path every message takes, imported or synced.

Keeping this in one place means mail brought in by `tui-desk import` is stored (and later
threaded) exactly like mail that arrives by IMAP.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Connection

from tui_desk.mail.message import Address, ParsedMessage
from tui_desk.storage.contacts import upsert_contact
from tui_desk.storage.messages import AttachmentRow, MessageRow, insert_message

# Mail from these domains says nothing about the sender's organisation.
FREEMAIL_DOMAINS = frozenset(
    """gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com
    icloud.com me.com mac.com aol.com gmx.com gmx.de gmx.net web.de proton.me protonmail.com
    mail.ru yandex.ru ya.ru rambler.ru bk.ru list.ru inbox.ru siol.net t-2.net amis.net
    gmail.si email.si net.hr t-com.hr inet.hr zoho.com fastmail.com hey.com tutanota.com
    seznam.cz wp.pl o2.pl abv.bg""".split()
)

_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")


def organisation_for(address: str) -> str:
    """The organisation a sender belongs to, guessed from the domain (empty for free-mail)."""
    domain = address.rpartition("@")[2].lower().strip()
    if not domain or domain in FREEMAIL_DOMAINS or "." not in domain:
        return ""
    return domain


def looks_like_mail(raw: bytes) -> bool:
    """True when the bytes start with a header block (possibly after an mbox From_ line)."""
    for line in raw.lstrip(b"\r\n \t").splitlines()[:3]:
        if line.startswith(b"From ") or _HEADER_LINE.match(line):
            return True
    return False


def _pairs(addresses: list[Address]) -> list[list[str]]:
    return [[a.name, a.addr] for a in addresses]


def to_row(parsed: ParsedMessage, *, source: str = "", flags: str = "", internaldate: datetime | None = None,
           account_id: int | None = None, folder_id: int | None = None, uid: int | None = None) -> MessageRow:
    """The storage row for a parsed mail."""
    return MessageRow(
        message_id=parsed.message_id,
        message_id_synthetic=parsed.message_id_synthetic,
        in_reply_to=parsed.in_reply_to[0] if parsed.in_reply_to else "",
        refs=" ".join(parsed.references),
        subject=parsed.subject,
        from_name=parsed.from_addr.name,
        from_addr=parsed.from_addr.addr,
        to_addrs=_pairs(parsed.to),
        cc_addrs=_pairs(parsed.cc),
        reply_to=_pairs(parsed.reply_to),
        date=parsed.date,
        date_source=parsed.date_source,
        internaldate=internaldate,
        flags=flags,
        size=parsed.size,
        text=parsed.text,
        html_text=parsed.html_text,
        snippet=parsed.snippet,
        content_hash=parsed.content_hash,
        auto_submitted=parsed.auto_submitted,
        list_id=parsed.list_id,
        headers=parsed.headers,
        problems=parsed.problems,
        source=source,
        body_parsed=not parsed.body_pending,
        account_id=account_id,
        folder_id=folder_id,
        uid=uid,
        attachments=[
            AttachmentRow(a.filename, a.original_filename, a.content_type, a.size, a.part_path,
                          a.content_id, a.inline)
            for a in parsed.attachments
        ],
    )  # fmt: skip


def store(conn: Connection, parsed: ParsedMessage, raw: bytes, *, compressed: bytes | None = None,
          index: bool = True, **where: object) -> int:
    """Insert one parsed mail (row, attachments, raw bytes, contact); returns its row id.
    With `index=False` the caller indexes the batch (`storage.messages.index_messages`)."""
    row = to_row(parsed, **where)  # type: ignore[arg-type]
    new_id = insert_message(conn, row, raw, compressed=compressed, index=index)
    upsert_contact(conn, row.from_addr, row.from_name, organisation_for(row.from_addr), row.date)
    return new_id
