"""`tui-desk import` and `tui-desk messages`."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from tui_desk.commands.output import err_console, print_json, progress_bar
from tui_desk.config import Paths
from tui_desk.screens.safe import safe_line
from tui_desk.storage.db import Database
from tui_desk.storage.messages import list_messages
from tui_desk.tickets.importer import import_paths


def cmd_import(args: argparse.Namespace, paths: Paths) -> int:
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
