"""The main screen: saved views, the filter bar, the ticket list and the status bar.

The list query is whatever the filter bar holds; choosing a view puts the view's query there.
Every keystroke in the filter is parsed at once: a good query redraws the list (one COUNT and
one window read), a bad one leaves the list as it was and shows where the problem is.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input

from tui_desk.screens.actions import TicketActions, ticket_bindings
from tui_desk.screens.dialogs import TextDialog
from tui_desk.screens.messages import ViewCountsReady
from tui_desk.screens.notices import tell
from tui_desk.screens.panels import QueryProblem, StatusBar, ViewsSidebar
from tui_desk.screens.ticket_list import TicketList
from tui_desk.tickets.query import QueryError
from tui_desk.tickets.service_types import SyncNews, ViewInfo

SORTS = ("", "sort:priority", "sort:created", "sort:-updated")
SORT_NAMES = {"": "newest activity first", "sort:priority": "highest priority first",
              "sort:created": "newest tickets first", "sort:-updated": "oldest activity first"}  # fmt: skip
_SORT_TERM = re.compile(r"(?<!\S)-?sort:\S*")
ALL = ViewInfo("All tickets", "", True)


def with_sort(text: str, sort: str) -> str:
    """`text` with its sort: term replaced by `sort` ("" = the default order)."""
    rest = " ".join(_SORT_TERM.sub(" ", text).split())
    return f"{rest} {sort}".strip()


def current_sort(text: str) -> str:
    found = _SORT_TERM.findall(text)
    return found[-1] if found else ""


class MainScreen(TicketActions):
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
        self.tickets.focus()
        self.refresh_counts()

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
        """A sync pass ended (the app forwards it): new mail shows up, the cursor stays put."""
        self.query_one(StatusBar).set_accounts(self.service.account_states())
        self._show_outbox()
        if news.new or news.sent:
            self.tickets.reload(keep=True)
            self.refresh_counts()

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
            self.query_one(QueryProblem).show(text, exc)
            return
        self.query_one(QueryProblem).show(text, None)
        if text != self.tickets.query_text:
            if not any(v.query == text for v in self.query_one(ViewsSidebar).views):
                self.view_name = "filter"
            self.tickets.set_query(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
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
        t = self.tickets
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
        try:
            views = [ViewInfo(ALL.name, "", True, self.service.count("")), *self.service.views()]
        except Exception:  # counts are a nicety: the list itself is what matters
            return
        self.post_message(ViewCountsReady(views))

    def on_view_counts_ready(self, message: ViewCountsReady) -> None:
        self.query_one(ViewsSidebar).show(message.views)

    def action_save_view(self) -> None:
        text = self.tickets.query_text

        def save(name: object) -> None:
            try:
                self.service.save_view(str(name), text)
            except (QueryError, ValueError) as exc:
                tell(self, f"Not saved: {exc}", severity="error")
                return
            self.view_name = str(name)
            tell(self, f"Saved view {name}")
            self.refresh_counts()

        self._ask(TextDialog("Save this filter as a view named", placeholder="e.g. Billing"), save)

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
