"""`tui-desk import` and `tui-desk messages`."""

from __future__ import annotations

import argparse

from tui_desk.config import Paths

# Heavy imports (parser, database) happen inside the handlers: registering the subcommands
# must stay cheap so `tui-desk --help` is instant.


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("import", help="import .eml files, mbox files and Maildir folders")
    p.add_argument("paths", nargs="+", help="files or folders to import")
    p.add_argument("-v", "--verbose", action="store_true", help="list each failure with its reason")
    p.set_defaults(handler="messages:cmd_import")

    p = sub.add_parser("messages", help="list stored messages")
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(handler="messages:cmd_messages")


def cmd_import(args: argparse.Namespace, paths: Paths) -> int:
    from tui_desk.commands.output import err_console, progress_bar
    from tui_desk.screens.safe import safe_line
    from tui_desk.storage.db import Database
    from tui_desk.tickets.importer import import_paths

    db = Database.in_dir(paths.data_dir)
    try:
        with progress_bar("Importing") as progress:
            summary = import_paths(db, args.paths, progress)
    finally:
        db.close()
    print(summary.line())
    if args.verbose:
        console = err_console()
        for origin, reason in summary.failed:
            console.print(safe_line(f"failed: {origin}: {reason}"))
    return 0


def cmd_messages(args: argparse.Namespace, paths: Paths) -> int:
    from rich.console import Console
    from rich.table import Table

    from tui_desk.commands.output import print_json
    from tui_desk.screens.safe import safe_line
    from tui_desk.storage.db import Database
    from tui_desk.storage.messages import list_messages

    db = Database.in_dir(paths.data_dir)
    try:
        with db.read() as conn:
            rows = list_messages(conn)
    finally:
        db.close()
    if args.format == "json":
        for row in rows:
            row["attachments"] = row.pop("attachment_names")
        print_json(rows)
        return 0
    table = Table("id", "date", "from", "subject", "att", box=None, header_style="bold")
    for row in rows:
        table.add_row(
            str(row["id"]), (row["date"] or "")[:16].replace("T", " "),
            safe_line(row["from_name"] or row["from_addr"]), safe_line(row["subject"]),
            str(len(row["attachments"]) or ""),
        )  # fmt: skip
    Console(highlight=False).print(table)
    return 0
