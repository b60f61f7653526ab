"""The small widgets around the list: saved views with live counts, the filter bar's error
line and the status bar. None of them read data themselves: the main screen hands them
values, so each is a plain function of what it was given (and easy to snapshot)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.screens.safe import safe_line
from tui_desk.tickets.query import QueryError
from tui_desk.tickets.service_types import AccountState, ViewInfo

STATE_WORDS = {"online": "online", "offline": "offline", "auth": "login refused", "tls": "TLS failed",
               "protocol": "server error", "error": "error", "never synced": "not synced yet",
               "syncing": "syncing"}  # fmt: skip


class ViewsSidebar(OptionList):
    """Saved views; choosing one puts its query in the filter. With the sidebar focused (tab,
    or a click), `d` deletes and `e` renames the highlighted view (the screen asks first)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d,delete", "delete_view", "Delete view", id="views.delete"),
        Binding("e", "rename_view", "Rename view", id="views.rename"),
    ]

    class Chosen(Message):
        def __init__(self, view: ViewInfo) -> None:
            super().__init__()
            self.view = view

    class Delete(Chosen):
        """Delete this view (asked for with a key; the screen confirms)."""

    class Rename(Chosen):
        """Rename this view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: list[ViewInfo] = []
        self.border_title = "Views"

    def show(self, views: list[ViewInfo]) -> None:
        """Show the views (and counts when known), keeping the highlighted one."""
        highlighted = self.highlighted
        same = [v.name for v in views] == [v.name for v in self.views]
        self.views = views
        prompts = [self._prompt(v) for v in views]
        if same and self.option_count == len(views):
            for i, prompt in enumerate(prompts):
                self.replace_option_prompt_at_index(i, prompt)
            return
        self.clear_options()
        self.add_options([Option(p, id=f"view-{i}") for i, p in enumerate(prompts)])
        if highlighted is not None and views:
            self.highlighted = min(highlighted, len(views) - 1)

    def _prompt(self, view: ViewInfo) -> Table:
        """Name on the left, count on the right, whatever the sidebar's width."""
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(safe_line(view.name), Text("" if view.count is None else f" {view.count:,}", style="dim"))
        return grid

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.views):
            self.post_message(self.Chosen(self.views[event.option_index]))

    def _highlighted_view(self) -> ViewInfo | None:
        i = self.highlighted
        return self.views[i] if i is not None and 0 <= i < len(self.views) else None

    def action_delete_view(self) -> None:
        if view := self._highlighted_view():
            self.post_message(self.Delete(view))

    def action_rename_view(self) -> None:
        if view := self._highlighted_view():
            self.post_message(self.Rename(view))


class QueryProblem(Static):
    """Where a bad filter is explained: the query with a caret under the bad token."""

    def show(self, text: str, error: QueryError | None) -> None:
        if error is None:
            if self.display:  # hiding is a layout change: only when it shows something
                self.display = False
            return
        pointer = error.pointer(text).split("\n")
        body = Text()
        body.append_text(safe_line(pointer[0]))
        body.append("\n")
        body.append(pointer[1] if len(pointer) > 1 else "^", style="bold")
        body.append("\n")
        body.append_text(safe_line(error.message))
        self.update(body)
        self.display = True


class StatusBar(Static):
    """Account state (online / offline / syncing with progress), list counts, outbox."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.accounts: list[AccountState] = []
        self.progress: dict[str, str] = {}
        self.counts = ""
        self.outbox = ""
        self.demo = False
        self._last = Text()

    def set_accounts(self, states: list[AccountState]) -> None:
        self.accounts = states
        self._draw()

    def set_progress(self, account: str, text: str) -> None:
        if text:
            self.progress[account] = text
        else:
            self.progress.pop(account, None)
        self._draw()

    def set_counts(self, text: str) -> None:
        self.counts = text
        self._draw()

    def set_outbox(self, text: str) -> None:
        self.outbox = text
        self._draw()

    def _draw(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.demo:
            line.append(" DEMO ", style="reverse bold")
            line.append(" ")
        if not self.accounts:
            line.append("no account", style="dim")
        for i, acc in enumerate(self.accounts):
            if i:
                line.append("  ")
            line.append_text(safe_line(acc.name, "bold"))
            line.append(" ")
            progress = self.progress.get(acc.name)
            if progress:
                line.append(f"syncing {progress}", style="italic")
            else:
                word = STATE_WORDS.get(acc.state, acc.state)
                line.append(word, style="" if acc.state in ("online", "syncing") else "bold")
        if self.counts:
            line.append(" │ ", style="dim")
            line.append(self.counts)
        if self.outbox:
            line.append(" │ ", style="dim")
            line.append(self.outbox)
        if line != self._last:
            self._last = line
            self.update(line, layout=False)  # one fixed line: no layout pass per keystroke
