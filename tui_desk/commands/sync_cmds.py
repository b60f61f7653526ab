"""Handler of `tui-desk sync`."""

from __future__ import annotations

import argparse
import signal
import threading

from rich.console import Console
from rich.table import Table

from tui_desk.commands.output import err_console, progress_bar
from tui_desk.config import Account, Paths, load_config, parse_since
from tui_desk.credentials import get_password
from tui_desk.screens.safe import safe_line
from tui_desk.storage import sync_state
from tui_desk.storage.db import Database
from tui_desk.tickets.bodies import index_bodies
from tui_desk.tickets.sync import AccountSync, SyncReport
from tui_desk.tickets.team_compact import AUTOMATIC, CompactPolicy


def _accounts(args: argparse.Namespace, paths: Paths) -> list[Account]:
    config = load_config(paths.config_file)
    if args.account:
        return [config.account(args.account)]
    if not config.accounts:
        raise SystemExit(f"tui-desk: no accounts in {paths.config_file}; add one with `tui-desk account add`")
    return list(config.accounts)


def _show_quarantine(db: Database) -> int:
    with db.read() as conn:
        rows = sync_state.quarantined(conn)
    if not rows:
        print("nothing is set aside")
        return 0
    table = Table("folder", "uid", "size", "reason", box=None, header_style="bold")
    for r in rows:
        table.add_row(safe_line(r["folder"]), str(r["uid"]), str(r["size"]), safe_line(r["reason"]))
    Console(highlight=False).print(table)
    return 0


def cmd_sync(args: argparse.Namespace, paths: Paths) -> int:
    db = Database.in_dir(paths.data_dir)
    try:
        if args.quarantine:
            return _show_quarantine(db)
        accounts = _accounts(args, paths)
        agent = load_config(paths.config_file).agent.email or None
        compaction = CompactPolicy(force=True) if getattr(args, "compact", False) else AUTOMATIC
        syncers = []
        for account in accounts:
            since = parse_since(args.since if args.since is not None else account.sync_since)
            syncers.append(AccountSync(db, account, get_password(account), since=since, agent=agent,
                                       compaction=compaction))  # fmt: skip
        if args.watch:
            return _watch(syncers)
        status = 0
        for syncer in syncers:
            with progress_bar(f"Syncing {syncer.account.name}") as progress:
                syncer.on_progress = lambda folder, done, total, p=progress: p(done, total)
                report = syncer.run_once()
            syncer.close()
            print(report.line())
            status = max(status, 0 if report.ok else 2)
        # Big first syncs stored envelopes only; read the bodies now (offline work, all cores).
        with progress_bar("Reading message bodies") as progress:
            index_bodies(db, on_progress=progress)
        return status
    finally:
        db.close()


def _watch(syncers: list[AccountSync]) -> int:
    stop = threading.Event()
    console = err_console()

    def on_report(report: SyncReport) -> None:
        if report.new or not report.ok:
            console.print(safe_line(report.line()))

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=s.watch, args=(stop, on_report), daemon=True) for s in syncers]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.5)
    except KeyboardInterrupt:
        stop.set()
    for t in threads:
        t.join(timeout=10)
    for s in syncers:
        s.close()
    return 0
