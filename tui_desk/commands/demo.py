"""`tui-desk demo`: the whole app on a generated help-desk mailbox, with no account and no network.

A real IMAP and SMTP server runs inside this process (see `tui_desk.demo.server`), so the
app's own sync, IDLE and outbox code does the work: replies really go out over SMTP and new mail
(including customers answering them) really arrives. Heavy imports happen in the handler, so
`tui-desk --help` stays instant.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from tui_desk.config import Paths

if TYPE_CHECKING:
    from tui_desk.demo.prepare import PrepareReport


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "demo", help="try tui-desk on a generated help-desk mailbox (no account, no network needed)",
        description="Starts the app on a throwaway desk: a few hundred tickets in English, Slovenian, "
        "Croatian and Russian, served by a mail server inside this process. Replies are sent to it "
        "and shown as sent; nothing leaves this machine.",
    )  # fmt: skip
    p.add_argument("--data-dir", dest="demo_dir", metavar="DIR",
                   help="build the demo desk here (a new or empty directory, or an earlier demo's) "
                   "instead of a temporary one")  # fmt: skip
    p.add_argument("--keep", action="store_true", help="keep the demo's data directory after exit")
    p.add_argument(
        "--prepare-only", action="store_true", help="build the demo desk, print a summary and exit"
    )
    p.set_defaults(handler="demo:cmd_demo")


def _summary(report: PrepareReport) -> str:
    seconds = sum(report.timings.values())
    return (f"demo desk: {report.state.tickets} tickets from {report.messages} messages, "
            f"{report.state.notes} notes, ready in {seconds:.1f} s")  # fmt: skip


def _clean_up(folder: Path, existed: bool) -> None:
    """Remove what the demo made: the marked contents, and the folder itself unless the user
    gave one that existed already."""
    from tui_desk.demo.prepare import clear_dir

    clear_dir(folder)
    if not existed:
        with contextlib.suppress(OSError):
            folder.rmdir()


def cmd_demo(args: argparse.Namespace, paths: Paths) -> int:
    import tempfile

    from tui_desk.commands.output import err_console
    from tui_desk.credentials import passwords_in_memory
    from tui_desk.screens.safe import safe_line

    console = err_console()
    try:
        from tui_desk.demo.prepare import DEMO_ACCOUNT, DemoError, PrepareReport, prepare_demo
    except ModuleNotFoundError as exc:  # pymap / aiosmtpd come with the `demo` extra
        console.print(f"tui-desk: the demo needs {exc.name}: pip install 'tui-desk[demo]'", soft_wrap=True)
        return 2
    make_app = None
    if not args.prepare_only:
        try:  # before spending seconds on the desk: is the app there at all?
            from tui_desk.app import make_app
        except ModuleNotFoundError as exc:
            if exc.name != "tui_desk.app":
                raise
            console.print("tui-desk: the terminal app is not part of this build yet; "
                          "`tui-desk demo --prepare-only --keep` builds the demo desk", soft_wrap=True)  # fmt: skip
            return 2
    # `tui-desk --data-dir X demo` means the same as `demo --data-dir X` (a real desk is refused);
    # getattr: the app's "Try the demo" calls this handler with a Namespace of its own.
    given = getattr(args, "demo_dir", None) or getattr(args, "data_dir", None)
    folder = Path(given).expanduser() if given else Path(tempfile.mkdtemp(prefix="tui-desk-demo-"))
    existed = bool(given) and folder.exists()
    report = PrepareReport()
    server = None
    kept = ""
    try:
        with console.status("Preparing the demo desk (a generated mailbox on a mail server in this process)"):
            demo_paths, config, server = prepare_demo(folder, report=report)
        kept = f"--data-dir {folder} --config {demo_paths.config_file}"
        if args.prepare_only or make_app is None:
            print(_summary(report))
            return 0
        with passwords_in_memory({DEMO_ACCOUNT: server.password}):
            make_app(demo_paths, config, demo=True).run()
        return 0
    except DemoError as exc:
        console.print(safe_line(f"tui-desk: {exc}"), soft_wrap=True)
        return 2
    except KeyboardInterrupt:  # nothing of a throwaway desk is worth "kept so far"
        console.print("tui-desk: demo stopped", soft_wrap=True)
        return 130
    finally:
        if server is not None:
            server.stop()
        if args.keep and kept:
            console.print(safe_line(f"the demo desk is kept in {folder}; its mail server is gone, but "
                                    f"`tui-desk {kept} tickets` still browses it"), soft_wrap=True)  # fmt: skip
        elif not args.keep and folder.exists():
            _clean_up(folder, existed)
