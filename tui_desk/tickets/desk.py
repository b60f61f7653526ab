"""The read side the UI and the CLI use: open the desk, a ticket's detail, saved views.

List windows and counts are `query.page` / `query.count`; changes are in `workflow`.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.storage import saved_views, thread_sql
from tui_desk.storage import ticket_search as search
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import Database
from tui_desk.tickets import query, threading
from tui_desk.tickets.model import PRIORITIES
from tui_desk.tickets.workflow import resolve

DEFAULT_AGENT = "me@localhost"


def agent_identity(explicit: str | None = None) -> str:
    """Who "me" is: an explicit address, else $TUI_DESK_AGENT, else me@localhost.
    (The config's agent address will be passed as `explicit` once the app reads it.)"""
    return (explicit or os.environ.get("TUI_DESK_AGENT") or DEFAULT_AGENT).strip().lower()


def open_desk(db: Database) -> int:
    """Make the database ready for ticket work: thread any message not threaded yet (mail
    stored before tickets existed, or left by an interrupted run). Returns how many."""
    with db.read() as conn:
        if not thread_sql.unthreaded_ids(conn, 1):
            return 0
    with db.write() as conn:
        return threading.catch_up(conn)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def detail(conn: Connection, ticket: str | int) -> dict[str, Any]:
    """Everything about one ticket: state, requester, messages (one per mail), notes, audit."""
    pk = ticket if isinstance(ticket, int) else resolve(conn, ticket)
    pk = rows.survivor(conn, pk)
    t = rows.get_ticket(conn, pk)
    if t is None:
        raise LookupError(pk)
    person = search.contact(conn, t["requester_addr"]) or {}
    links = {
        name: (rows.get_ticket(conn, t[name]) or {}).get("ref") if t[name] else None
        for name in ("follow_up_of", "split_from")
    }
    return {
        "id": t["ref"],
        "status": t["status"],
        "priority": PRIORITIES[t["priority"]],
        "subject": t["subject"],
        "requester": {
            "name": t["requester_name"] or person.get("name", ""),
            "address": t["requester_addr"],
            "organisation": person.get("organisation", ""),
        },
        "assignee": t["assignee"] or None,
        "tags": search.tags_for(conn, [pk]).get(pk, []),
        "created": _iso(t["created_at"]),
        "updated": _iso(t["updated_at"]),
        "first_response": _iso(t["first_response_at"]),
        "solved": _iso(t["solved_at"]),
        "unread": t["unread"],
        "automatic": t["automatic"],
        "claimed_tag": t["claimed_tag"] or None,
        "follow_up_of": links["follow_up_of"],
        "split_from": links["split_from"],
        "merged": search.merged_refs(conn, pk),
        "messages": [
            {
                "row_id": m["id"],
                "message_id": m["message_id"],
                "date": _iso(m["date"]),
                "from": {"name": m["from_name"], "address": m["from_addr"]},
                "to": [{"name": n, "address": a} for n, a in m["to"]],
                "cc": [{"name": n, "address": a} for n, a in m["cc"]],
                "subject": m["subject"],
                "text": m["text"],
                "ours": m["ours"],
                "automatic": bool(m["auto_submitted"]),
                "threaded_by": m["thread_kind"],
            }
            for m in search.ticket_messages(conn, pk)
        ],
        "notes": [
            {"author": n["author"], "body": n["body"], "at": _iso(n["created_at"]), "event_id": n["event_id"]}
            for n in search.notes_for(conn, pk)
        ],
        "audit": [
            {"at": _iso(a["at"]), "agent": a["agent"], "field": a["field"], "from": a["old"], "to": a["new"]}
            for a in search.audit_for(conn, pk)
        ],
    }


# --- saved views ----------------------------------------------------------------------------


def views(conn: Connection) -> list[dict[str, Any]]:
    """Named queries, built-in ones first (New, My open, Unassigned, Pending, On hold, Solved)."""
    return search.list_views(conn)


def find_view(conn: Connection, name: str) -> dict[str, Any] | None:
    """The saved view called `name` (any case), or None."""
    wanted = name.strip().casefold()
    return next((v for v in search.list_views(conn) if v["name"].casefold() == wanted), None)


def save_view(conn: Connection, name: str, text: str) -> None:
    """Save (or replace) a named query; a malformed query raises `query.QueryError` first.
    A built-in view keeps its filter: saving under its name is refused."""
    if not name.strip():
        raise ValueError("a view needs a name")
    query.parse(text)
    found = find_view(conn, name)
    if found is not None and found["builtin"]:
        raise ValueError(f"{found['name']} is a built-in view; choose another name")
    search.upsert_view(conn, found["name"] if found else name.strip(), text)


def delete_view(conn: Connection, name: str) -> bool:
    """Delete a view the team saved; False if there is none by that name. The built-in views
    (New, My open, ...) are the desk's shared vocabulary and are never deleted: ValueError."""
    found = find_view(conn, name)
    if found is None:
        return False
    if found["builtin"]:
        raise ValueError(f"{found['name']} is a built-in view and cannot be deleted")
    return search.remove_view(conn, found["name"])


def rename_view(conn: Connection, old: str, new: str) -> str:
    """Rename a saved view, keeping its place; returns the new name. LookupError when there is
    no such view, ValueError for a built-in view or a name another view has."""
    found = find_view(conn, old)
    if found is None:
        raise LookupError(f"no saved view named {old!r}")
    if found["builtin"]:
        raise ValueError(f"{found['name']} is a built-in view and cannot be renamed")
    name = new.strip()
    if not name:
        raise ValueError("a view needs a name")
    other = find_view(conn, name)
    if other is not None and other["name"] != found["name"]:
        raise ValueError(f"there is a view named {other['name']} already")
    saved_views.rename_view(conn, found["name"], name)
    return name


def view_query(conn: Connection, name: str) -> str:
    found = find_view(conn, name)
    if found is None:
        raise LookupError(f"no saved view named {name!r}")
    return str(found["query"])
