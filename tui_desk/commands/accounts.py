"""Registers `tui-desk account add|test|list|remove` and `tui-desk sync`; the handlers live in
`account_cmds.py` and `sync_cmds.py`, imported only when they run."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    acc = sub.add_parser("account", help="add, test, list or remove mail accounts")
    verbs = acc.add_subparsers(dest="verb", metavar="VERB", required=True)

    p = verbs.add_parser("add", help="add (or replace) an account; the password goes to the keyring")
    p.add_argument("name")
    p.add_argument("--email", required=True, help="the support address, e.g. support@example.com")
    p.add_argument("--username", help="login name (default: the email address)")
    p.add_argument("--display-name", default="", help="shown in From of our replies")
    p.add_argument("--imap-host", required=True)
    p.add_argument("--imap-port", type=int)
    p.add_argument("--imap-security", choices=("tls", "starttls", "none"), default="tls")
    p.add_argument("--smtp-host")
    p.add_argument("--smtp-port", type=int)
    p.add_argument("--smtp-security", choices=("tls", "starttls", "none"), default="starttls")
    p.add_argument("--ca-file", default="", help="trust this CA bundle for both servers")
    p.add_argument("--no-verify-tls", action="store_true", help="do not verify certificates (this account only)")
    p.add_argument("--folder", action="append", dest="folders", help="folder to sync (repeatable; default INBOX)")
    p.add_argument("--since", default="", help="first sync starts from this age or date (90d, 2026-01-01)")
    p.add_argument("--password-command", default="", help="command printing the password (instead of the keyring)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(handler="account_cmds:cmd_add")

    for verb, text in (("test", "log in to IMAP and SMTP and report what works"), ("remove", "forget an account")):
        p = verbs.add_parser(verb, help=text)
        p.add_argument("name")
        p.set_defaults(handler=f"account_cmds:cmd_{verb}")
    p = verbs.add_parser("list", help="list accounts and their sync state")
    p.set_defaults(handler="account_cmds:cmd_list")

    p = sub.add_parser("sync", help="sync mail from the server (once, or --watch to keep going)")
    p.add_argument("--account", help="only this account (default: all)")
    p.add_argument("--since", help="for a first sync: only mail from this age or date (90d, 2026-01-01)")
    p.add_argument("--watch", action="store_true", help="keep syncing: push via IDLE, reconnect after drops")
    p.add_argument("--quarantine", action="store_true", help="list messages set aside by earlier syncs")
    p.add_argument("--compact", action="store_true",
                   help="compact the team event log on the server now (sync does it by itself once a day)")
    p.set_defaults(handler="sync_cmds:cmd_sync")

