"""The `tui-desk` command: parse arguments, dispatch to `tui_desk.commands`, turn every expected
failure into one plain line and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import DatabaseError as SADatabaseError

from tui_desk import __version__
from tui_desk.config import ConfigError, Paths, SinceError
from tui_desk.credentials import CredentialError
from tui_desk.storage.migrations import SchemaTooNew

Handler = Callable[[argparse.Namespace, Paths], int]

# Each module in tui_desk/commands registers its own subcommands (`register(subparsers)`) and
# names its handler as "module:function", imported only when it runs.
COMMAND_MODULES: tuple[str, ...] = ("messages", "accounts", "tickets", "replies", "demo", "ui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tui-desk", description="A help desk that lives in the terminal.")
    parser.add_argument("--version", action="version", version=f"tui-desk {__version__}")
    parser.add_argument("--data-dir", help="where the database lives (default: the platform's data folder)")
    parser.add_argument("--config", help="settings file (default: the platform's config folder)/config.toml")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from importlib import import_module

    for name in COMMAND_MODULES:
        import_module(f"tui_desk.commands.{name}").register(sub)
    return parser


def _resolve(spec: str) -> Handler:
    """Import a command's module only when it runs, so `tui-desk --help` stays instant."""
    from importlib import import_module

    module, _, name = spec.partition(":")
    handler: Handler = getattr(import_module(f"tui_desk.commands.{module}"), name)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    paths = Paths.resolve(args.data_dir, args.config)
    if not getattr(args, "handler", None):
        args.handler = "ui:cmd_run"  # no command: the terminal app
    try:
        return _resolve(args.handler)(args, paths)
    except (SchemaTooNew, ConfigError, CredentialError, SinceError) as exc:
        print(f"tui-desk: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.DatabaseError, SADatabaseError) as exc:
        print(f"tui-desk: the database in {paths.data_dir} cannot be used: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tui-desk: interrupted; everything committed so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
