"""Registers `tui-desk reply`, `tui-desk outbox` and `tui-desk templates`; the handlers live in
`reply_cmds.py`, imported only when they run (so `tui-desk --help` stays instant)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("reply", help="reply to a ticket (queued in the outbox, then sent)")
    p.add_argument("ticket", help="ticket id, any case, or a unique prefix")
    p.add_argument("--account", help="send from this account (default: the one the ticket's mail came in on)")
    p.add_argument("--template", help="start from this template (placeholders must all be filled)")
    p.add_argument("--body-file", help="the reply text from a file, or - for standard input")
    p.add_argument("--all", action="store_true", help="reply to everyone on the customer's last mail")
    p.add_argument("--attach", action="append", default=[], metavar="PATH", help="attach a file (repeatable)")
    p.add_argument("--status", help="status to set when sent (default: reply_status from the settings)")
    p.add_argument("--no-quote", action="store_true", help="do not quote the customer's message")
    p.add_argument("--no-send", action="store_true", help="only queue it; `tui-desk outbox --send` sends")
    p.add_argument("--agent", help='who is replying (default: the settings\' agent, else $TUI_DESK_AGENT)')
    p.set_defaults(handler="reply_cmds:cmd_reply")

    p = sub.add_parser("outbox", help="list queued, failed and sent replies; --send sends what is due")
    p.add_argument("--account", help="only this account (default: all)")
    p.add_argument("--retry", type=int, metavar="ID", help="queue a failed reply again")
    p.add_argument("--send", action="store_true", help="send what is queued now")
    p.add_argument("--uncertain-wait", type=float, default=None, metavar="SECONDS",
                   help="after a crash mid-send, wait this long for proof of delivery before resending")  # fmt: skip
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.set_defaults(handler="reply_cmds:cmd_outbox")

    p = sub.add_parser("templates", help="canned replies: list, show, export DIR, import DIR")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    q = verbs.add_parser("list", help="list templates (optionally matching words, fuzzily)")
    q.add_argument("query", nargs="*", help="words to match in name, tags and body")
    q.add_argument("--lang", default="", help="put templates in this language first")
    q.set_defaults(handler="reply_cmds:cmd_templates")
    q = verbs.add_parser("show", help="print one template as its file would look")
    q.add_argument("name")
    q.set_defaults(handler="reply_cmds:cmd_templates")
    for verb, text in (("export", "write every template as DIR/<name>.md"),
                       ("import", "create or replace templates from DIR/*.md and *.txt")):  # fmt: skip
        q = verbs.add_parser(verb, help=text)
        q.add_argument("dir")
        q.set_defaults(handler="reply_cmds:cmd_templates")
