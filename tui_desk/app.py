"""The Textual app: which screen first, the background sync, sending, keys and themes.

Kept small on purpose: screens live in `tui_desk.screens`, data comes from one `DeskService`
(built by `make_app` from paths and settings the caller already loaded: nothing here reads
global settings or opens a database at import time). Long IO runs in thread workers that
only post messages; the app forwards sync news to every screen that shows tickets.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from tui_desk.config import Config, Paths
from tui_desk.screens.commands import providers
from tui_desk.screens.dialogs import HelpDialog
from tui_desk.screens.messages import SendFinished, SyncNewsArrived, SyncProgress
from tui_desk.screens.notices import tell
from tui_desk.tickets.service import DeskService
from tui_desk.tickets.service_types import SyncNews

SCREENS_DIR = Path(__file__).parent / "screens"


class TuiDeskApp(App[str | None]):
    """Exits with "demo" when the user chose to try the demo from the setup screen."""

    TITLE = "tui-desk"
    CSS_PATH: ClassVar[list[str | Path]] = [SCREENS_DIR / name for name in ("app.tcss", "main.tcss", "ticket.tcss",
                                                                          "forms.tcss")]  # fmt: skip
    COMMANDS = App.COMMANDS | set(providers())
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (120, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", show=False, id="app.quit"),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("f2", "toggle_theme", "Light/dark", show=False, id="app.theme"),
    ]

    def __init__(self, service: DeskService, *, demo: bool = False,
                 start_demo: Callable[[], None] | None = None) -> None:  # fmt: skip
        super().__init__()
        self.service = service
        self.demo = demo
        self.start_demo = start_demo
        self._stop = threading.Event()
        self._syncing: set[str] = set()
        self._states: dict[str, str] = {}
        self._sync_threads_done: list[threading.Event] = []

    # -- start and stop -----------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.demo:
            self.sub_title = "demo"
        if self.service.config.keys:
            self.set_keymap(dict(self.service.config.keys))
        if self.service.has_account:
            self._open_main()
        else:
            from tui_desk.screens.setup import SetupScreen

            self.push_screen(SetupScreen())

    def _open_main(self) -> None:
        from tui_desk.screens.main import MainScreen

        self.push_screen(MainScreen())
        self.call_after_refresh(freeze_startup_heap)
        if self.service.background_sync:
            self.start_sync()

    def setup_done(self) -> None:
        """The setup screen saved an account: on to the tickets (back to them, when the setup
        was opened from the palette), and keep the new account in sync too."""
        from tui_desk.screens.main import MainScreen

        if any(isinstance(s, MainScreen) for s in self.screen_stack[:-1]):
            self.pop_screen()
        else:
            self.switch_screen(MainScreen())
            self.call_after_refresh(freeze_startup_heap)
        if self.service.background_sync:
            self.start_sync()

    def try_demo(self) -> None:
        if self.start_demo is not None:
            self.start_demo()
        else:
            self.exit("demo")

    def action_setup(self) -> None:
        from tui_desk.screens.setup import SetupScreen

        self.push_screen(SetupScreen())

    def on_unmount(self) -> None:
        """Stop the sync threads and wait (briefly) for them: a sync must not go on writing to a
        database whose app is gone. IDLE checks the stop flag every second."""
        self._stop.set()
        for done in self._sync_threads_done:
            done.wait(timeout=5)
        gc.unfreeze()  # what start-up built may be garbage now (another app in this process, tests)

    async def action_quit(self) -> None:
        self._stop.set()
        self.exit()

    # -- background sync ----------------------------------------------------------------------
    def start_sync(self) -> None:
        """One worker per account (not started yet), each keeping it in sync until the app exits."""
        for account in self.service.accounts:
            if account.name in self._syncing:
                continue
            self._syncing.add(account.name)
            done = threading.Event()
            self._sync_threads_done.append(done)
            self.run_worker(lambda name=account.name, done=done: self._watch(name, done), thread=True,
                            exclusive=True, group=f"sync:{account.name}", exit_on_error=False,
                            name=f"sync {account.name}")  # fmt: skip

    def _watch(self, name: str, done: threading.Event) -> None:
        def progress(account: str, folder: str, n: int, total: int) -> None:
            self.post_message(SyncProgress(account, folder, n, total))

        try:
            self.service.watch(name, self._stop, lambda news: self.post_message(SyncNewsArrived(news)), progress)
        except Exception as exc:  # a bug in sync must not take the UI down: show it, stop syncing
            self.post_message(SyncNewsArrived(SyncNews(name, "error", f"sync stopped: {exc}")))
        finally:
            done.set()

    def sync_now(self) -> None:
        """One pass now; with the background sync running it already has the news (IDLE), and a
        second pass beside it would only fetch the same mail twice."""
        if self._syncing:
            tell(self, "The background sync is on: new mail shows up by itself", timeout=3)
            return
        self.run_worker(self._sync_once, thread=True, exclusive=True, group="sync-now", exit_on_error=False)

    def _sync_once(self) -> None:
        try:
            for news in self.service.sync_once():
                self.post_message(SyncNewsArrived(news))
        except Exception as exc:
            self.post_message(SyncNewsArrived(SyncNews("sync", "error", str(exc))))

    def on_sync_progress(self, message: SyncProgress) -> None:
        text = f"{message.folder} {message.done}/{message.total}" if message.done < message.total else ""
        self._to_screens("sync_progress", message.account, text)

    def on_sync_news_arrived(self, message: SyncNewsArrived) -> None:
        news = message.news
        self._to_screens("sync_progress", news.account, "")
        before = self._states.get(news.account)
        self._states[news.account] = news.state
        if news.state != "online" and before != news.state:  # once per change, not per retry
            tell(self, f"{news.account}: {news.reason or news.state}", title="Mail server", severity="warning")
        elif news.state == "online" and before not in (None, "online"):
            tell(self, f"{news.account}: connected again", title="Mail server")
        for reason in news.failed_sends:
            tell(self, reason, title="A reply was not sent", severity="error", timeout=15)
        if news.sent:
            tell(self, f"{news.sent} repl{'y' if news.sent == 1 else 'ies'} sent")
        self._to_screens("sync_news", news)

    def _to_screens(self, method: str, *args: Any) -> None:
        for screen in self.screen_stack:
            handler = getattr(screen, method, None)
            if handler is not None:
                handler(*args)

    # -- sending ------------------------------------------------------------------------------
    def deliver_outbox(self, account: str | None = None) -> None:
        self.run_worker(lambda: self._deliver(account), thread=True, group="send", exit_on_error=False)

    def _deliver(self, account: str | None) -> None:
        try:
            news = self.service.deliver(account or None)
        except Exception as exc:
            self.post_message(SendFinished(False, str(exc)))
            return
        if news.failed_sends:
            self.post_message(SendFinished(False, "; ".join(news.failed_sends)))
        elif news.state not in ("online", "busy"):
            self.post_message(SendFinished(False, f"kept in the outbox, will retry: {news.reason or news.state}"))
        else:
            self.post_message(SendFinished(True, f"{news.sent} sent" if news.sent else ""))
        self.post_message(SyncNewsArrived(SyncNews(news.account, "online" if news.state == "busy" else news.state,
                                                   news.reason, 0, news.sent)))  # fmt: skip

    def on_send_finished(self, message: SendFinished) -> None:
        if not message.ok:
            tell(self, message.reason, title="Reply not sent", severity="error", timeout=15)

    # -- keys and looks -----------------------------------------------------------------------
    def action_help(self) -> None:
        from tui_desk.screens.commands import screen_keys

        if isinstance(self.screen, HelpDialog):
            return
        keys = [(k, what) for k, what, _node, _action in screen_keys(self.screen)]
        name = {"main": "ticket list", "ticket": "ticket", "composer": "composer", "setup": "setup"}
        self.push_screen(HelpDialog(name.get(self.screen.id or "", self.screen.id or "this screen"), keys))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def make_app(paths: Paths, config: Config, *, service: DeskService | None = None, demo: bool = False,
             start_demo: Callable[[], None] | None = None) -> TuiDeskApp:  # fmt: skip
    """The one way to build the app (CLI, tests, snapshots, demo). Pass `service` to control
    the database, the clock and whether a background sync runs (tests do)."""
    service = service or DeskService.open(paths, config)
    return TuiDeskApp(service, demo=demo, start_demo=start_demo)


def freeze_startup_heap() -> None:
    """Take what start-up built (modules, widgets, styles: most of the heap, alive until exit)
    out of the cyclic GC's reach. Otherwise every full collection walks all of it: pauses of
    about 100 ms at 100,000 tickets, which made one filter keystroke in twenty miss 100 ms in
    `benchmarks/ui.py`. `gc.freeze` is the standard library's tool for this; collecting first
    means no garbage is frozen, and `on_unmount` unfreezes."""
    gc.collect()
    gc.freeze()
