"""Handlers of `tui-desk reply`, `tui-desk outbox` and `tui-desk templates`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tui_desk.commands.output import err_console, print_json
from tui_desk.config import Account, Config, ConfigError, Paths, load_config
from tui_desk.credentials import get_password
from tui_desk.mail.compose import AttachmentError, HeaderInjection
from tui_desk.screens.safe import safe_line
from tui_desk.storage import outbox as outbox_rows
from tui_desk.storage.db import Database
from tui_desk.tickets import composer, outbox
from tui_desk.tickets import templates as tpl
from tui_desk.tickets.model import InvalidChange
from tui_desk.tickets.workflow import TicketNotFound


def _account(config: Config, name: str | None, paths: Paths) -> Account:
    if name:
        return config.account(name)
    if not config.accounts:
        raise ConfigError(f"no accounts in {paths.config_file}; add one with `tui-desk account add`")
    return config.accounts[0]


def _fail(text: str) -> int:
    err_console().print(safe_line(f"tui-desk: {text}"))
    return 2


def cmd_reply(args: argparse.Namespace, paths: Paths) -> int:
    config = load_config(paths.config_file)
    account = _account(config, args.account, paths)
    db = Database.in_dir(paths.data_dir)
    try:
        try:
            if not args.account:  # the account the ticket's mail came in on
                account = composer.reply_account(db, config, args.ticket)
            draft = composer.open_reply(db, config, account, args.ticket, "reply_all" if args.all else "reply",
                                        agent=args.agent)  # fmt: skip
        except TicketNotFound as exc:
            return _fail(str(exc))
        try:
            if args.template:
                draft, result = composer.apply_template(db, draft, args.template, config, account)
                for problem in result.problems:
                    err_console().print(safe_line(f"template: {problem.line(result.text)}"))
            if args.body_file:
                body = sys.stdin.read() if args.body_file == "-" else Path(args.body_file).read_text("utf-8")
                draft = composer.save_draft(db, draft, body=(draft.body + "\n\n" if args.template else "") + body)
            changes: dict[str, object] = {"attachments": list(args.attach), "quote": not args.no_quote}
            if args.status:
                changes["status"] = args.status
            draft = composer.save_draft(db, draft, **changes)
            item_id = outbox.enqueue(db, draft, config, account)
        except (outbox.ReplyProblems, HeaderInjection, AttachmentError, InvalidChange, tpl.TemplateError,
                OSError) as exc:  # fmt: skip
            composer.discard(db, draft)
            return _fail(f"not sent: {exc}")
        print(f"queued as outbox item {item_id} ({draft.subject})")
        if args.no_send:
            return 0
        report = outbox.drain(db, account, get_password(account))
        print(report.line())
        return 0 if report.state == "online" and not report.failed else 2
    finally:
        db.close()


def cmd_outbox(args: argparse.Namespace, paths: Paths) -> int:
    db = Database.in_dir(paths.data_dir)
    try:
        if args.retry is not None:
            try:
                outbox.retry(db, args.retry)
            except LookupError as exc:
                return _fail(str(exc))
            print(f"outbox item {args.retry} queued again")
        status = 0
        if args.send:
            config = load_config(paths.config_file)
            accounts = [config.account(args.account)] if args.account else list(config.accounts)
            for account in accounts:
                wait = outbox.UNCERTAIN_WAIT if args.uncertain_wait is None else args.uncertain_wait
                report = outbox.drain(db, account, get_password(account), uncertain_wait=wait)
                print(f"{account.name}: {report.line()}")
                status = max(status, 0 if report.state == "online" and not report.failed else 2)
            return status
        with db.read() as conn:
            items = outbox_rows.items(conn, account=args.account)
        if args.format == "json":
            print_json([{"id": i.id, "account": i.account, "ticket": i.ticket_ref, "message_id": i.message_id,
                         "state": i.state, "filed": i.filed, "attempts": i.attempts, "error_kind": i.error_kind,
                         "error": i.error, "to": i.rcpts, "created": i.created_at, "sent": i.sent_at}
                        for i in items])  # fmt: skip
            return 0
        table = Table("id", "ticket", "state", "to", "error", box=None, header_style="bold")
        for i in items:
            table.add_row(str(i.id), i.ticket_ref, i.state, safe_line(", ".join(i.rcpts)), safe_line(i.error))
        Console(highlight=False).print(table)
        return status
    finally:
        db.close()


def cmd_templates(args: argparse.Namespace, paths: Paths) -> int:
    db = Database.in_dir(paths.data_dir)
    try:
        with db.write() as conn:
            if args.verb == "list":
                found = tpl.search(conn, " ".join(args.query), args.lang) if args.query else tpl.all_templates(conn)
                table = Table("name", "lang", "tags", box=None, header_style="bold")
                for t in found:
                    table.add_row(safe_line(t.name), t.lang, safe_line(", ".join(t.tags)))
                Console(highlight=False).print(table)
            elif args.verb == "show":
                sys.stdout.write(tpl.to_file_text(tpl.get(conn, args.name)) + "\n")
            elif args.verb == "export":
                written = tpl.export_dir(conn, Path(args.dir))
                print(f"{len(written)} templates written to {args.dir}")
            else:
                report = tpl.import_dir(conn, Path(args.dir))
                print(f"{len(report.imported)} templates imported")
                for problem in report.problems:
                    err_console().print(safe_line(f"skipped: {problem}"))
                return 2 if report.problems else 0
        return 0
    except tpl.TemplateError as exc:
        return _fail(str(exc))
    finally:
        db.close()
