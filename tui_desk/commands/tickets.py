"""`tui-desk tickets`, `tui-desk show` and `tui-desk set`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui_desk.config import Paths

# Heavy imports (database, ticket domain, Rich) happen inside the handlers: registering the
# subcommands must stay cheap so `tui-desk --help` is instant.


def _agent_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agent", help='who "me" is (default: $TUI_DESK_AGENT, else the config\'s agent email)')


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tickets", help="list tickets (filter language: see `tui-desk tickets --help`)",
                       description="Filters: status:open,pending -status:closed assignee:me|none|ADDR tag:X "
                       "-tag:X priority:>=high from:ADDR|@domain is:unread before:DATE after:7d "
                       '"phrase" words sort:updated|-created|priority')  # fmt: skip
    p.add_argument("--query", "-q", default="", help="a filter, e.g. 'status:open assignee:me refund'")
    p.add_argument("--view", help="a saved view by name (New, My open, Unassigned, ...)")
    p.add_argument("--limit", type=int, help="at most this many (default: all)")
    p.add_argument("--format", choices=("json", "table"), default="table")
    _agent_option(p)
    p.set_defaults(handler="tickets:cmd_tickets")

    p = sub.add_parser("show", help="show one ticket: messages, notes, state and audit trail")
    p.add_argument("ticket", help="ticket id, any case, or a unique prefix")
    p.add_argument("--format", choices=("json", "text"), default="text")
    _agent_option(p)
    p.set_defaults(handler="tickets:cmd_show")

    p = sub.add_parser("set", help="change a ticket: status=solved priority=high tag+=x tag-=y assignee=ADDR note=...")
    p.add_argument("ticket", help="ticket id, any case, or a unique prefix")
    p.add_argument("changes", nargs="+", metavar="FIELD=VALUE",
                   help="status=, priority=, assignee= (me, an address, or empty), tag+=, tag-=, note=")  # fmt: skip
    _agent_option(p)
    p.set_defaults(handler="tickets:cmd_set")


def _agent(args: argparse.Namespace, paths: Paths) -> str:
    """--agent, else $TUI_DESK_AGENT, else the config's agent address, else me@localhost."""
    import os

    from tui_desk.config import load_config
    from tui_desk.tickets import desk

    explicit = args.agent or os.environ.get("TUI_DESK_AGENT") or load_config(paths.config_file).agent.email
    return desk.agent_identity(explicit or None)


def _fail(message: str) -> int:
    print(f"tui-desk: {message}", file=sys.stderr)
    return 2


def cmd_tickets(args: argparse.Namespace, paths: Paths) -> int:
    from tui_desk.storage.db import Database
    from tui_desk.tickets import desk, query

    agent = _agent(args, paths)
    if args.limit is not None and args.limit < 1:
        return _fail("--limit must be at least 1")
    db = Database.in_dir(paths.data_dir)
    try:
        desk.open_desk(db)
        with db.read() as conn:
            text = args.query
            if args.view:
                try:
                    text = f"{desk.view_query(conn, args.view)} {text}".strip()
                except LookupError as exc:
                    return _fail(str(exc.args[0]))
            try:
                rows = _collect(conn, query.parse(text, agent=agent), args.limit)
            except query.QueryError as exc:
                print(f"tui-desk: bad query: {exc.message}\n{exc.pointer(text)}", file=sys.stderr)
                return 2
    finally:
        db.close()
    if args.format == "json":
        from tui_desk.commands.output import print_json

        print_json(rows)
    else:
        _print_table(rows)
    return 0


def _collect(conn: Any, f: Any, limit: int | None) -> list[dict[str, Any]]:
    from tui_desk.tickets import query

    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        window = 500 if limit is None else min(500, limit - len(out))
        page = query.page(conn, f, after=cursor, limit=window)
        out.extend(page.rows)
        cursor = page.next_cursor
        if cursor is None or (limit is not None and len(out) >= limit):
            return out


def _print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from tui_desk.screens.safe import safe_line

    table = Table("id", "status", "prio", "updated", "requester", "subject", "assignee", "tags",
                  box=None, header_style="bold")  # fmt: skip
    for r in rows:
        requester = r["requester"]["name"] or r["requester"]["address"]
        table.add_row(
            r["id"], r["status"], r["priority"], (r["updated"] or "")[:16].replace("T", " "),
            safe_line(requester), safe_line(r["subject"]), safe_line(r["assignee"] or ""),
            safe_line(" ".join(r["tags"])),
        )  # fmt: skip
    Console(highlight=False).print(table)


def cmd_show(args: argparse.Namespace, paths: Paths) -> int:
    from tui_desk.storage.db import Database
    from tui_desk.tickets import desk
    from tui_desk.tickets.workflow import TicketNotFound

    db = Database.in_dir(paths.data_dir)
    try:
        desk.open_desk(db)
        with db.read() as conn:
            try:
                ticket = desk.detail(conn, args.ticket)
            except TicketNotFound as exc:
                return _fail(str(exc))
    finally:
        db.close()
    if args.format == "json":
        from tui_desk.commands.output import print_json

        print_json(ticket)
    else:
        _print_ticket(ticket)
    return 0


def _print_ticket(t: dict[str, Any]) -> None:
    from rich.console import Console

    from tui_desk.screens.safe import safe_line, safe_text

    console = Console(highlight=False)
    req = t["requester"]
    head = [
        f"{t['id']}  {t['subject']}",
        f"status {t['status']}  priority {t['priority']}  assignee {t['assignee'] or '-'}  tags {' '.join(t['tags']) or '-'}",
        f"requester {req['name']} <{req['address']}> {req['organisation']}".rstrip(),
        f"created {t['created']}  updated {t['updated']}  first response {t['first_response'] or '-'}  "
        f"solved {t['solved'] or '-'}",
    ]
    for key in ("follow_up_of", "split_from", "claimed_tag"):
        if t[key]:
            head.append(f"{key.replace('_', ' ')} {t[key]}")
    for line in head:
        console.print(safe_line(line))
    for m in t["messages"]:
        console.print()
        who = m["from"]["name"] or m["from"]["address"]
        marks = " (ours)" if m["ours"] else " (automatic)" if m["automatic"] else ""
        console.print(safe_line(f"--- {m['date']}  {who} <{m['from']['address']}>{marks}"), style="bold")
        console.print(safe_line(f"Subject: {m['subject']}"))
        console.print(safe_text(m["text"]))
    if t["notes"]:
        console.print()
        for n in t["notes"]:
            console.print(safe_line(f"note {n['at']} {n['author']}:"), style="bold")
            console.print(safe_text(n["body"]))
    if t["audit"]:
        console.print()
        for a in t["audit"]:
            console.print(safe_line(f"{a['at']}  {a['agent']}  {a['field']}: {a['from']!r} -> {a['to']!r}"))


def cmd_set(args: argparse.Namespace, paths: Paths) -> int:
    from tui_desk.storage.db import Database
    from tui_desk.tickets import desk, workflow
    from tui_desk.tickets.model import InvalidChange

    agent = _agent(args, paths)
    try:
        changes = workflow.parse_assignments(args.changes)
    except InvalidChange as exc:
        return _fail(str(exc))
    db = Database.in_dir(paths.data_dir)
    try:
        desk.open_desk(db)
        with db.write() as conn:
            try:
                workflow.change(conn, args.ticket, agent, changes)
                ticket = desk.detail(conn, args.ticket)
            except (InvalidChange, workflow.TicketNotFound) as exc:
                return _fail(str(exc))
    finally:
        db.close()
    print(f"{ticket['id']}: status {ticket['status']}, priority {ticket['priority']}, "
          f"assignee {ticket['assignee'] or '-'}, tags {' '.join(ticket['tags']) or '-'}")  # fmt: skip
    return 0
