"""Saved views on the main screen: save the filter as a view (`w`), rename (`e`) and delete
(`d`) a view from the sidebar, or any of them from the command palette.

The built-in views (New, My open, Unassigned, Pending, On hold, Solved) and "All tickets" are
neither renamed nor deleted, as a mail client keeps its Inbox: every agent of the team has
them, the docs and colleagues refer to them by name, and nothing in the UI could bring one
back. The views an agent saved are theirs to rename and delete (after a confirmation).
Writes run in a worker (SQLite may be busy with a sync batch) that posts `ViewChanged`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work

from tui_desk.screens.dialogs import ConfirmDialog, TextDialog
from tui_desk.screens.messages import ViewChanged
from tui_desk.screens.notices import tell
from tui_desk.screens.panels import ViewsSidebar
from tui_desk.tickets.query import QueryError
from tui_desk.tickets.service_types import ViewInfo

if TYPE_CHECKING:
    from tui_desk.screens.ticket_list import TicketList
    from tui_desk.tickets.service import DeskService


class ViewActions:
    """Mixed into the main screen, which provides these."""

    service: DeskService
    view_name: str
    tickets: TicketList
    query_one: Any
    post_message: Any
    _ask: Callable[[Any, Callable[[Any], None]], None]

    def refresh_counts(self) -> None:
        raise NotImplementedError

    def show_counts(self) -> None:
        raise NotImplementedError

    def mark_view(self) -> None:
        raise NotImplementedError

    def action_save_view(self) -> None:
        text = self.tickets.query_text
        self._ask(TextDialog("Save this filter as a view named", placeholder="e.g. Billing"),
                  lambda name: self._write_view("save", self.view_name, str(name), text))  # fmt: skip

    def delete_view(self, view: ViewInfo) -> None:
        if view.builtin:
            tell(self, f"{view.name} is a built-in view: it stays (save your own with w)", timeout=4)  # type: ignore[arg-type]
            return
        facts = [f"Its filter: {view.query or '(everything)'}", "Only the view goes: no ticket changes."]
        self._ask(ConfirmDialog(f"Delete the view {view.name}?", facts, yes="Delete", no="Keep it"),
                  lambda yes: self._write_view("delete", view.name, "", view.query) if yes else None)  # fmt: skip

    def rename_view(self, view: ViewInfo) -> None:
        if view.builtin:
            tell(self, f"{view.name} is a built-in view: its name stays", timeout=4)  # type: ignore[arg-type]
            return
        self._ask(TextDialog(f"Rename the view {view.name} to", value=view.name),
                  lambda name: self._write_view("rename", view.name, str(name), view.query))  # fmt: skip

    @work(thread=True, group="views", exit_on_error=False)
    def _write_view(self, what: str, old: str, new: str, text: str) -> None:
        try:
            if what == "save":
                self.service.save_view(new, text)
                summary = f"Saved view {new}"
            elif what == "rename":
                new = self.service.rename_view(old, new)
                summary = f"View {old} is now {new}"
            else:
                self.service.delete_view(old)
                summary = f"Deleted view {old}"
        except (QueryError, LookupError, ValueError) as exc:
            self.post_message(ViewChanged(what, old, new, "", f"Not {what}d: {exc}"))
            return
        self.post_message(ViewChanged(what, old, new, summary))

    def on_view_changed(self, message: ViewChanged) -> None:
        if message.error:
            tell(self, message.error, severity="error")  # type: ignore[arg-type]
            return
        if message.what == "save" or self.view_name == message.old:
            self.view_name = message.name or "filter"
        tell(self, message.summary)  # type: ignore[arg-type]
        sidebar = self.query_one(ViewsSidebar)
        counts = {v.name: v.count for v in sidebar.views}
        views = [sidebar.views[0], *self.service.views(counts=False)]  # "All tickets" first, as always
        sidebar.show([ViewInfo(v.name, v.query, v.builtin, counts.get(v.name)) for v in views])
        self.mark_view()
        self.show_counts()
        self.refresh_counts()
