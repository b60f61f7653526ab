"""`tui-desk` with no command (or `tui-desk run`): the terminal app.

Textual and the screens are imported only when the app starts, so `tui-desk --help` and every
other command stay instant. When the setup screen's "Try the demo" ends the app, the demo
starts in its place (`tui-desk demo`)."""

from __future__ import annotations

import argparse
import sys

from tui_desk.config import Paths


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="open the terminal app (what `tui-desk` alone does)")
    p.set_defaults(handler="ui:cmd_run")


def cmd_run(args: argparse.Namespace, paths: Paths) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("tui-desk: the app needs a terminal; `tui-desk --help` lists the commands for scripts", file=sys.stderr)
        return 2
    from tui_desk.app import make_app
    from tui_desk.config import load_config

    result = make_app(paths, load_config(paths.config_file)).run()
    if result == "demo":
        from tui_desk.commands.demo import cmd_demo

        demo_args = argparse.Namespace(demo_dir=None, keep=False, prepare_only=False)
        return cmd_demo(demo_args, paths)
    return 0
