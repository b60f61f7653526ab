"""Handlers of `tui-desk account ...`."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys

from rich.console import Console
from rich.table import Table

from tui_desk.config import DEFAULT_PORTS, Account, Paths, Server, load_config, save_config
from tui_desk.credentials import CredentialError, delete_password, get_password, set_password
from tui_desk.mail.errors import MailError
from tui_desk.screens.safe import safe_line


def _server(kind: str, host: str, port: int | None, security: str, args: argparse.Namespace) -> Server:
    return Server(host=host, port=port or DEFAULT_PORTS[(kind, security)], security=security,
                  verify_tls=not args.no_verify_tls, ca_file=args.ca_file)  # fmt: skip


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CredentialError("no terminal to ask for the password: use --password-stdin or --password-command")
    return getpass.getpass(f"Password for {args.username or args.email}: ")


def cmd_add(args: argparse.Namespace, paths: Paths) -> int:
    config = load_config(paths.config_file)
    smtp = _server("smtp", args.smtp_host, args.smtp_port, args.smtp_security, args) if args.smtp_host else None
    account = Account(
        name=args.name, email=args.email, username=args.username or args.email,
        imap=_server("imap", args.imap_host, args.imap_port, args.imap_security, args), smtp=smtp,
        display_name=args.display_name, password_command=args.password_command,
        folders=tuple(args.folders or ("INBOX",)), sync_since=args.since,
    )  # fmt: skip
    if not args.password_command:
        password = _read_password(args)
        if not password:
            print("tui-desk: an empty password was not stored", file=sys.stderr)
            return 2
        set_password(account.name, password)
    save_config(paths.config_file, config.with_account(account))
    print(f"account {account.name!r} saved in {paths.config_file}; run `tui-desk account test {account.name}`")
    return 0


def cmd_test(args: argparse.Namespace, paths: Paths) -> int:
    from tui_desk.mail.imap import ImapSession
    from tui_desk.mail.smtp_check import check_smtp

    account = load_config(paths.config_file).account(args.name)
    password = get_password(account)
    failed = False
    try:
        with ImapSession(account.imap, account.username, password) as session:
            sent = session.find_special("\\Sent")
            extra = f", Sent folder: {sent}" if sent else ", no Sent folder found"
            print(f"IMAP {account.imap.host}:{account.imap.port}: ok (login as {account.username}{extra})")
    except MailError as exc:
        print(f"IMAP {account.imap.host}:{account.imap.port}: {exc.kind}: {exc}")
        failed = True
    if account.smtp is None:
        print("SMTP: not configured (replies cannot be sent)")
    else:
        try:
            check_smtp(account.smtp, account.username, password)
            print(f"SMTP {account.smtp.host}:{account.smtp.port}: ok")
        except MailError as exc:
            print(f"SMTP {account.smtp.host}:{account.smtp.port}: {exc.kind}: {exc}")
            failed = True
    return 2 if failed else 0


def cmd_list(args: argparse.Namespace, paths: Paths) -> int:
    from tui_desk.storage import sync_state
    from tui_desk.storage.db import Database

    config = load_config(paths.config_file)
    if not config.accounts:
        print(f"no accounts in {paths.config_file}; add one with `tui-desk account add`")
        return 0
    states: dict[str, tuple[str, str]] = {}
    if (paths.data_dir / "tui-desk.db").exists():
        db = Database.in_dir(paths.data_dir)
        with db.read() as conn:
            for acc in config.accounts:
                acc_id = sync_state.account_id(conn, acc.name)
                state = sync_state.account_status(conn, acc_id) if acc_id else None
                if state:
                    states[acc.name] = state
        db.close()
    table = Table("name", "email", "imap", "smtp", "state", box=None, header_style="bold")
    for acc in config.accounts:
        state, reason = states.get(acc.name, ("never synced", ""))
        smtp = f"{acc.smtp.host}:{acc.smtp.port}" if acc.smtp else "-"
        table.add_row(safe_line(acc.name), safe_line(acc.email), safe_line(f"{acc.imap.host}:{acc.imap.port}"),
                      safe_line(smtp), safe_line(f"{state} {reason}".strip()))  # fmt: skip
    Console(highlight=False).print(table)
    return 0


def cmd_remove(args: argparse.Namespace, paths: Paths) -> int:
    config = load_config(paths.config_file)
    save_config(paths.config_file, config.without_account(args.name))
    with contextlib.suppress(CredentialError):  # nothing stored, or no keyring: nothing left behind
        delete_password(args.name)
    print(f"account {args.name!r} removed (mail already synced stays in the local database)")
    return 0
