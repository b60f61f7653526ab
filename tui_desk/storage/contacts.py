"""Contacts: everyone who wrote to us, upserted as mail comes in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from tui_desk.storage.db import cursor, to_db_time


def upsert_contact(conn: Connection, address: str, name: str, organisation: str, seen: datetime) -> None:
    """Record one more message from `address`; keep the newest non-empty display name."""
    if not address:
        return
    when = to_db_time(seen)
    cursor(conn).execute(
        "INSERT INTO contacts (address, name, organisation, first_seen, last_seen, message_count) "
        "VALUES (?, ?, ?, ?, ?, 1) "
        "ON CONFLICT(address) DO UPDATE SET "
        "name = CASE WHEN excluded.name != '' AND excluded.last_seen >= contacts.last_seen "
        "            THEN excluded.name ELSE contacts.name END, "
        "organisation = CASE WHEN contacts.organisation = '' THEN excluded.organisation "
        "                    ELSE contacts.organisation END, "
        "first_seen = MIN(contacts.first_seen, excluded.first_seen), "
        "last_seen = MAX(contacts.last_seen, excluded.last_seen), "
        "message_count = contacts.message_count + 1",
        (address, name, organisation, when, when),
    )
