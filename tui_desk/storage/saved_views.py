"""SQL for changing a saved view in place (listing, saving and removing are in `ticket_search`).

A rename keeps the view's id and position, so it stays where the agent put it in the sidebar.
"""

from __future__ import annotations

from sqlalchemy import Connection

from tui_desk.storage.db import cursor


def rename_view(conn: Connection, old: str, new: str) -> bool:
    cur = cursor(conn)
    cur.execute("UPDATE saved_views SET name = ? WHERE name = ?", (new, old))
    return cur.rowcount > 0
