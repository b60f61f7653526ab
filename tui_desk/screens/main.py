"""The main screen: saved views, the filter bar, the ticket list and the status bar.

The list query is whatever the filter bar holds; choosing a view puts the view's query there.
Every keystroke in the filter is parsed at once: a good query redraws the list (one COUNT and
one window read), a bad one leaves the list as it was and shows where the problem is.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import get_current_worker

from tui_desk.screens.actions import TicketActions, ticket_bindings
from tui_desk.screens.dialogs import TextDialog
from tui_desk.screens.messages import ViewCountsReady
from tui_desk.screens.notices import tell
from tui_desk.screens.panels import QueryProblem, StatusBar, ViewsSidebar
from tui_desk.screens.ticket_list import COUNT_DELAY, TicketList
from tui_desk.screens.view_actions import ViewActions
from tui_desk.tickets.query import QueryError
from tui_desk.tickets.service_types import SyncNews, ViewInfo

SORTS = ("", "sort:priority", "sort:created", "sort:-updated")
SORT_NAMES = {"": "newest activity first", "sort:priority": "highest priority first",
              "sort:created": "newest tickets first", "sort:-updated": "oldest activity first"}  # fmt: skip
_SORT_TERM = re.compile(r"(?<!\S)-?sort:\S*")
ALL = ViewInfo("All tickets", "", True)
MARKS_EVERY = 60.0
PROBLEM_AFTER = 0.8
"""A query whose last word is still being typed ("status:", "status:o") is not wrong yet: its
problem shows after this pause, or at once on Enter. The list keeps the last good query."""
"""Seconds between re-reads of the rows in view when nothing else happens (marks expire)."""


def with_sort(text: str, sort: str) -> str:
    """`text` with its sort: term replaced by `sort` ("" = the default order)."""
    rest = " ".join(_SORT_TERM.sub(" ", text).split())
    return f"{rest} {sort}".strip()


def current_sort(text: str) -> str:
    found = _SORT_TERM.findall(text)
    return found[-1] if found else ""


class MainScreen(ViewActions, TicketActions):
    BINDINGS: ClassVar[list[BindingType]] = [
        *ticket_bindings("list"),
        Binding("slash", "filter", "Filter", id="main.filter"),
        Binding("escape", "clear", "Back", show=False, id="main.clear"),
        Binding("o", "sort", "Sort", show=False, id="main.sort"),
        Binding("left_square_bracket", "step(-1)", "Previous", show=False, id="main.prev"),
        Binding("right_square_bracket", "step(1)", "Next", show=False, id="main.next"),
        Binding("c", "compose_new", "New mail", show=False, id="main.new"),
        Binding("w", "save_view", "Save view", show=False, id="main.save_view"),
        Binding("ctrl+r", "sync", "Sync now", show=False, id="main.sync"),
    ]

    def __init__(self) -> None:
        super().__init__(id="main")
        self.view_name = ALL.name
        self._problem_timer: Timer | None = None
        self._pending_problem: tuple[str, QueryError] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield ViewsSidebar(id="views")
            with Vertical(id="list-pane"):
                yield Input(placeholder="/ filter: status:open assignee:me refund sort:priority", id="filter",
                            select_on_focus=False)  # fmt: skip
                yield QueryProblem(id="query-problem")
                yield TicketList(self.service, id="tickets")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def tickets(self) -> TicketList:
        return self.query_one(TicketList)

    def on_mount(self) -> None:
        self.query_one(QueryProblem).display = False
        status = self.query_one(StatusBar)
        status.demo = bool(getattr(self.app, "demo", False))
        status.set_accounts(self.service.account_states())
        self._show_outbox()
        self.query_one(ViewsSidebar).show([ALL, *self.service.views(counts=False)])
        self.mark_view()
        self.tickets.focus()
        self.refresh_counts()
        self.set_interval(MARKS_EVERY, self.tickets.refresh_rows)  # marks of a forgotten composer expire

    # -- what actions apply to ----------------------------------------------------------------
    def action_targets(self) -> list[str]:
        return self.tickets.targets()

    def _now(self, name: str) -> str | None:
        row = self.tickets.current
        return getattr(row, name, None) if row and not self.tickets.selected else None

    def changed(self, refs: tuple[str, ...]) -> None:
        tickets = self.tickets
        if tickets.selected and set(tickets.selected) <= set(refs):
            tickets.selected.clear()
        tickets.reload(keep=True)
        self.refresh_counts()

    def sync_news(self, news: SyncNews) -> None:
        """A sync pass ended (the app forwards it): new mail and colleagues' changes show up, the
        cursor stays put; otherwise the rows in view are read again where they are, so a
        colleague's "answering" mark appears (or goes) without a key pressed."""
        self.query_one(StatusBar).set_accounts(self.service.account_states())
        self._show_outbox()
        if news.new or news.sent or news.team:
            self.tickets.reload(keep=True)
            self.refresh_counts()
        else:
            self.tickets.refresh_rows()

    def _show_outbox(self) -> None:
        counts = self.service.outbox_counts()
        waiting = counts.get("queued", 0) + counts.get("sending", 0)
        parts = ([f"{waiting} to send"] if waiting else []) + ([f"{counts['failed']} failed"] if counts.get("failed") else [])
        self.query_one(StatusBar).set_outbox(f"outbox: {', '.join(parts)}" if parts else "")

    def sync_progress(self, account: str, text: str) -> None:
        self.query_one(StatusBar).set_progress(account, text)

    # -- the filter ---------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.focus()
        box.cursor_position = len(box.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        text = event.value
        try:
            self.service.parse(text)
        except QueryError as exc:
            self._problem(text, exc, typing=event.input.has_focus and exc.position + len(exc.token) >= len(text))
            return
        self._problem(text, None)
        if text != self.tickets.query_text:
            views = self.query_one(ViewsSidebar).views
            if not any(v.name == self.view_name and v.query == text for v in views):
                self.view_name = next((v.name for v in views if v.query == text), "filter")
            self.tickets.set_query(text)
            self.mark_view()

    def mark_view(self) -> None:
        """The sidebar shows which view the list is (none for a filter typed by hand)."""
        sidebar = self.query_one(ViewsSidebar)
        found = [i for i, v in enumerate(sidebar.views) if v.name == self.view_name]
        if sidebar.has_focus and not found:
            return  # moving through the views (a view was just deleted): the highlight stays put
        if sidebar.highlighted != (found[0] if found else None):
            sidebar.highlighted = found[0] if found else None

    def _problem(self, text: str, error: QueryError | None, *, typing: bool = False) -> None:
        """Show (or clear) what is wrong with the filter; while its last word is being typed,
        only after `PROBLEM_AFTER` without a key (a half-typed word is not a mistake yet)."""
        if self._problem_timer is not None:
            self._problem_timer.stop()
            self._problem_timer = None
        self._pending_problem = None
        problem = self.query_one(QueryProblem)
        if error is None or not typing:
            problem.show(text, error)
            return
        problem.show(text, None)
        self._pending_problem = (text, error)
        self._problem_timer = self.set_timer(PROBLEM_AFTER, self._show_pending_problem)

    def _show_pending_problem(self) -> None:
        self._problem_timer = None
        if self._pending_problem is not None:
            text, error = self._pending_problem
            self._pending_problem = None
            self.query_one(QueryProblem).show(text, error)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if self._pending_problem is not None:  # Enter on a bad query: say why now
                pending = self._pending_problem
                self._problem(*pending)
            self.tickets.focus()

    def action_clear(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:
            if box.value != self.tickets.query_text:
                box.value = self.tickets.query_text
            self.tickets.focus()
        elif self.tickets.selected:
            self.tickets.unselect_all()
        elif box.value:
            self.set_filter("", ALL.name)
        self.tickets.focus()

    def set_filter(self, text: str, view_name: str) -> None:
        self.view_name = view_name
        self.query_one("#filter", Input).value = text  # Input.Changed runs the query
        self.mark_view()
        self.show_counts()

    def on_views_sidebar_chosen(self, message: ViewsSidebar.Chosen) -> None:
        self.set_filter(message.view.query, message.view.name)
        self.tickets.focus()

    def action_sort(self) -> None:
        text = self.tickets.query_text
        nxt = SORTS[(SORTS.index(current_sort(text)) + 1) % len(SORTS)] if current_sort(text) in SORTS else ""
        self.set_filter(with_sort(text, nxt), self.view_name)
        tell(self, f"Sorted: {SORT_NAMES[nxt]}", timeout=2)

    # -- list events --------------------------------------------------------------------------
    def on_ticket_list_opened(self, message: TicketList.Opened) -> None:
        from tui_desk.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(message.ref, navigator=self.tickets.step))

    def on_ticket_list_moved(self, _message: TicketList.Moved) -> None:
        self.show_counts()

    def show_counts(self) -> None:
        t = self.tickets
        if t.counting:
            text = f"{self.view_name}: {t.total:,}+ tickets, counting…"
        else:
            text = f"{self.view_name}: {t.total:,} ticket{'s' if t.total != 1 else ''}"
        if t.selected:
            text += f", {len(t.selected)} selected"
        self.query_one(StatusBar).set_counts(text)

    def action_step(self, delta: int) -> None:
        self.tickets.move_to(self.tickets.cursor + delta)

    # -- counts, views, sync ------------------------------------------------------------------
    def refresh_counts(self) -> None:
        self._count_views()

    @work(thread=True, exclusive=True, group="view-counts", exit_on_error=False)
    def _count_views(self) -> None:
        time.sleep(COUNT_DELAY)  # a burst of changes (bulk, sync) is counted once, after it
        if get_current_worker().is_cancelled:
            return
        try:
            views = [ViewInfo(ALL.name, "", True, self.service.count("")), *self.service.views()]
        except Exception:  # counts are a nicety: the list itself is what matters
            return
        if not get_current_worker().is_cancelled:  # a view renamed or deleted meanwhile: the newer count tells
            self.post_message(ViewCountsReady(views))

    def on_view_counts_ready(self, message: ViewCountsReady) -> None:
        self.query_one(ViewsSidebar).show(message.views)

    def on_views_sidebar_delete(self, message: ViewsSidebar.Delete) -> None:
        self.delete_view(message.view)

    def on_views_sidebar_rename(self, message: ViewsSidebar.Rename) -> None:
        self.rename_view(message.view)

    def action_sync(self) -> None:
        sync = getattr(self.app, "sync_now", None)
        if sync is not None:
            sync()

    def action_compose_new(self) -> None:
        def with_to(to: object) -> None:
            self._ask(TextDialog(f"Subject of the new message to {to}"), lambda subject: self._open_new(str(to), str(subject)))

        self._ask(TextDialog("New message to", placeholder="name@example.com"), with_to)

    def _open_new(self, to: str, subject: str) -> None:
        from tui_desk.screens.composer import ComposerScreen

        try:
            draft = self.service.open_new([("", to)], subject)
        except Exception as exc:  # a bad address, no account: say so
            tell(self, f"Cannot start a message: {exc}", severity="error")
            return
        self.app.push_screen(ComposerScreen(draft))

    def on_screen_resume(self, _event: Any) -> None:
        """Back from a ticket: what changed there shows here."""
        self.tickets.reload(keep=True)
        self.refresh_counts()
