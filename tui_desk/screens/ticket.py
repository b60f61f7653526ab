"""One ticket: header, the conversation oldest to newest (notes in their place, set apart),
the requester's other tickets, attachments, and the history on demand.

Actions are the list's (`TicketActions`), applied to this ticket. `[` and `]` walk the list
the screen was opened from without going back to it (the list's cursor follows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.screens import conversation as conv
from tui_desk.screens.actions import TicketActions, ticket_bindings
from tui_desk.screens.dialogs import ChoiceDialog, ConfirmDialog, TextDialog
from tui_desk.screens.main import MARKS_EVERY
from tui_desk.screens.messages import ChangeApplied
from tui_desk.screens.notices import tell
from tui_desk.screens.safe import safe_line
from tui_desk.tickets.service_types import Attachment, MessageView, SyncNews, TicketDetail, TicketRow


class TicketScreen(TicketActions):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id="ticket.back"),
        *ticket_bindings("ticket"),
        Binding("left_square_bracket", "step(-1)", "Previous ticket", show=False, id="ticket.prev"),
        Binding("right_square_bracket", "step(1)", "Next ticket", show=False, id="ticket.next"),
        Binding("z", "fold", "Quotes", id="ticket.fold"),
        Binding("h", "history", "History", show=False, id="ticket.history"),
        Binding("A", "attachments", "Save attachment", show=False, id="ticket.attachments"),
        Binding("o", "others", "Requester's tickets", show=False, id="ticket.others"),
        Binding("x", "split", "Split off a message", show=False, id="ticket.split"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="ticket.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="ticket.up"),
        Binding("space,pagedown", "page(1)", "Page down", show=False, id="ticket.page_down"),
        Binding("b,pageup", "page(-1)", "Page up", show=False, id="ticket.page_up"),
        Binding("g,home", "top", "Top", show=False, id="ticket.top"),
        Binding("G,end", "bottom", "Bottom", show=False, id="ticket.bottom"),
    ]

    def __init__(self, ref: str, navigator: Callable[[int], str | None] | None = None) -> None:
        super().__init__(id="ticket")
        self.ref = ref
        self.navigator = navigator
        self.fold = True
        self.show_history = False
        self.detail: TicketDetail | None = None
        self.others: list[TicketRow] = []
        self._shown = ""

    def compose(self) -> ComposeResult:
        yield Static(id="ticket-header")
        yield Static(id="ticket-marks")
        with Horizontal(id="ticket-body"):
            yield VerticalScroll(id="conversation")
            with Vertical(id="ticket-side"):
                yield Label("Requester's other tickets", id="others-title")
                yield OptionList(id="others")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.query_one("#conversation").focus()
        self.set_interval(MARKS_EVERY, self.refresh_marks)

    # -- loading ------------------------------------------------------------------------------
    def load(self, *, keep_scroll: bool = False) -> None:
        """Show `self.ref`. Opening a ticket (not reloading it) marks it read."""
        try:
            self.detail = self.service.detail(self.ref)
        except LookupError as exc:
            tell(self, f"{self.ref}: {exc}", severity="error")
            self.dismiss()
            return
        opened = self.detail.ref != self._shown
        self.ref = self._shown = self.detail.ref
        self._header()
        self._conversation(keep_scroll=keep_scroll)
        self._others()
        if opened and self.detail.unread:
            self._mark_read(self.ref)

    @work(thread=True, group="mark-read", exit_on_error=False)
    def _mark_read(self, ref: str) -> None:
        try:
            self.service.mark_read(ref)
        except Exception:  # reading state is a nicety; the next open tries again
            return

    def _header(self) -> None:
        d = self.detail
        assert d is not None
        line = Text()
        line.append(f"{d.ref}  ", style="bold")
        line.append_text(safe_line(d.subject or "(no subject)", "bold"))
        line.append("\n")
        for label, value in (("status", d.status), ("priority", d.priority),
                             ("assignee", d.assignee or "nobody"), ("tags", ", ".join(d.tags) or "—")):  # fmt: skip
            line.append(f"{label} ", style="dim")
            line.append_text(safe_line(value, "bold"))
            line.append("   ")
        line.append("\n")
        line.append("from ", style="dim")
        who = f"{d.requester_name} <{d.requester_addr}>" if d.requester_name else d.requester_addr
        line.append_text(safe_line(who + (f" ({d.organisation})" if d.organisation else "")))
        if d.merged:
            line.append("   merged: ", style="dim")
            line.append(", ".join(d.merged))
        if d.split_from:
            line.append("   split from ", style="dim")
            line.append(d.split_from)
        self.query_one("#ticket-header", Static).update(line)
        lines = []
        for agent, since in d.composing:
            moment = self.service.local(since)
            lines.append(safe_line(f"✎ being answered by {agent}" + (f" since {moment:%H:%M}" if moment else "")))
        box = self.query_one("#ticket-marks", Static)
        box.update(Text("\n").join(lines))
        box.display = bool(lines)

    def _conversation(self, *, keep_scroll: bool) -> None:
        d = self.detail
        assert d is not None
        box = self.query_one("#conversation", VerticalScroll)
        y = box.scroll_y
        box.remove_children()
        items: list[tuple[float, Static]] = []
        for m in d.messages:
            classes = "message ours" if m.ours else "message"
            widget = Static(conv.message_text(m, self.service.local(m.date), fold=self.fold), classes=classes)
            items.append((m.date.timestamp() if m.date else 0.0, widget))
        for n in d.notes:
            widget = Static(conv.note_text(n, self.service.local(n.at)), classes="note")
            items.append((n.at.timestamp() if n.at else float("inf"), widget))
        items.sort(key=lambda item: item[0])
        widgets = [w for _t, w in items]
        if self.show_history:
            audit = [(a, self.service.local(a.at)) for a in d.audit]
            widgets.append(Static(conv.audit_text(audit), classes="history"))
        box.mount_all(widgets)
        if keep_scroll:
            box.call_after_refresh(box.scroll_to, y=y, animate=False)

    def _others(self) -> None:
        try:
            self.others = self.service.requester_tickets(self.ref)
        except LookupError:
            self.others = []
        box = self.query_one("#others", OptionList)
        box.clear_options()
        if not self.others:
            box.add_option(Option(Text("none", style="dim"), disabled=True))
        for r in self.others:
            prompt = Text(f"{r.ref} {r.status:<7} ", style="dim")
            prompt.append_text(safe_line(r.subject or "(no subject)"))
            box.add_option(Option(prompt, id=r.ref))

    # -- actions ------------------------------------------------------------------------------
    def action_targets(self) -> list[str]:
        return [self.ref]

    def _now(self, name: str) -> str | None:
        return getattr(self.detail, name, None)

    def changed(self, refs: tuple[str, ...]) -> None:
        if self.ref in refs or any(r for r in refs if self.detail and r in self.detail.merged):
            self.load(keep_scroll=True)
        elif refs:  # merged into another ticket: show where it went
            self.ref = refs[-1]
            self.load()

    def sync_news(self, news: SyncNews) -> None:
        if news.new or news.sent or news.team:
            self.load(keep_scroll=True)
        else:
            self.refresh_marks()

    def refresh_marks(self) -> None:
        """Who is answering this ticket, read again (a colleague started, sent or gave up)."""
        if self.detail is None:
            return
        try:
            marks = self.service.composing(self.ref)
        except LookupError:
            return
        if marks != self.detail.composing:
            self.detail = replace(self.detail, composing=marks)
            self._header()

    def action_back(self) -> None:
        self.dismiss()

    def action_step(self, delta: int) -> None:
        ref = self.navigator(delta) if self.navigator else None
        if ref is None:
            tell(self, "No more tickets in this direction", timeout=2)
            return
        self.ref = ref
        self.load()
        self.query_one("#conversation", VerticalScroll).scroll_home(animate=False)

    def action_fold(self) -> None:
        self.fold = not self.fold
        self._conversation(keep_scroll=True)

    def action_history(self) -> None:
        self.show_history = not self.show_history
        self._conversation(keep_scroll=True)
        if self.show_history:
            box = self.query_one("#conversation", VerticalScroll)
            box.call_after_refresh(box.scroll_end, animate=False)

    def action_scroll(self, lines: int) -> None:
        box = self.query_one("#conversation", VerticalScroll)
        box.scroll_to(y=box.scroll_y + lines, animate=False)

    def action_page(self, pages: int) -> None:
        box = self.query_one("#conversation", VerticalScroll)
        box.scroll_to(y=box.scroll_y + pages * max(1, box.size.height - 2), animate=False)

    def action_top(self) -> None:
        self.query_one("#conversation", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.ref = event.option.id
            self.load()

    def action_others(self) -> None:
        if not self.others:
            tell(self, "The requester has no other tickets", timeout=2)
            return
        choices = [(r.ref, f"{r.ref}  {r.status:<7}  {safe_line(r.subject).plain[:60]}") for r in self.others]

        def go(ref: object) -> None:
            self.ref = str(ref)
            self.load()

        self._ask(ChoiceDialog("Requester's other tickets", choices), go)

    # -- attachments --------------------------------------------------------------------------
    def action_attachments(self) -> None:
        files = [a for m in (self.detail.messages if self.detail else ()) for a in m.attachments]
        if not files:
            tell(self, "This ticket has no attachments", timeout=2)
            return
        choices = [(str(i), safe_line(a.name or "attachment").plain) for i, a in enumerate(files)]
        self._ask(ChoiceDialog("Save which attachment?", choices), lambda i: self._ask_folder(files[int(str(i))]))

    def _ask_folder(self, attachment: Attachment) -> None:
        default = Path.home() / "Downloads"
        folder = str(default if default.is_dir() else Path.home())
        self._ask(TextDialog(f"Save {safe_line(attachment.name).plain} into folder", value=folder),
                  lambda f: self._save(attachment, str(f), overwrite=False))  # fmt: skip

    def _save(self, attachment: Attachment, folder: str, *, overwrite: bool) -> None:
        try:
            path = self.service.save_attachment(attachment.message_row, attachment.part, folder, overwrite=overwrite)
        except FileExistsError as exc:
            self._ask(ConfirmDialog("Replace the file?", [str(exc)], yes="Replace", no="Keep it"),
                      lambda yes: self._save(attachment, folder, overwrite=True) if yes else None)  # fmt: skip
            return
        except (OSError, KeyError, ValueError) as exc:
            tell(self, f"Not saved: {exc}", severity="error")
            return
        tell(self, f"Saved {path}")

    # -- split --------------------------------------------------------------------------------
    def action_split(self) -> None:
        """Move one message out into a new ticket (a new question asked in an old thread)."""
        d = self.detail
        if d is None:
            return
        if len(d.messages) < 2:
            tell(self, "A ticket with one message cannot be split", timeout=3)
            return
        labels = {m.row_id: self._message_label(m) for m in d.messages}
        customer = [m.row_id for m in d.messages if not m.ours] or [d.messages[-1].row_id]
        choices = [(str(row), label) for row, label in labels.items()]
        self._ask(ChoiceDialog("Split which message off into a new ticket?", choices, start=str(customer[-1])),
                  lambda row: self._confirm_split(int(str(row)), labels[int(str(row))]))  # fmt: skip

    def _message_label(self, m: MessageView) -> str:
        who = m.from_name or m.from_addr
        words = " ".join(m.text.split())
        return safe_line(f"{conv.when(self.service.local(m.date))}  {who}: {words}").plain[:90]

    def _confirm_split(self, row: int, label: str) -> None:
        facts = [label, f"It leaves {self.ref} and becomes a new ticket with its own id, for the same requester.",
                 "Replies to it go to the new ticket; the team sees the split too."]  # fmt: skip
        self._ask(ConfirmDialog("Split this message off into a new ticket?", facts, yes="Split off", no="Cancel"),
                  lambda yes: self._split(self.ref, row) if yes else None)  # fmt: skip

    @work(thread=True, group="change", exit_on_error=False)
    def _split(self, ref: str, row: int) -> None:
        try:
            new = self.service.split(ref, row)
        except (LookupError, ValueError) as exc:
            self.post_message(ChangeApplied((ref,), "", f"not split: {exc}"))
            return
        self.post_message(ChangeApplied((ref, new), f"The message is now ticket {new}"))
