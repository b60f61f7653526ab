"""Who is answering which ticket right now ("being answered by ana"): the marks the list and
the ticket screen show, so two agents do not write the same reply.

A mark is set when a composer opens (`composer.open_reply`), refreshed while the agent types
and cleared when the reply is sent or discarded; colleagues' marks arrive through the team
sync (`collisions.note_composing` is where they are recorded). A mark not refreshed for
`COMPOSING_FRESH` is a composer left open and forgotten, and no longer shown.
Kept apart from `collisions` so reading the marks pulls in no sync or IMAP code.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from tui_desk.storage import outbox as store

COMPOSING_FRESH = timedelta(minutes=30)


def marks_on(conn: Connection, refs: Iterable[str], me: str) -> dict[str, list[tuple[str, datetime]]]:
    """ref -> (agent, since) of the colleagues (not `me`) writing a reply to it now."""
    fresh = datetime.now(UTC) - COMPOSING_FRESH
    out: dict[str, list[tuple[str, datetime]]] = {}
    for ref, agent, since in store.composing_on(conn, list(refs), fresh):
        if agent != me.lower():
            out.setdefault(ref, []).append((agent, since))
    return out
