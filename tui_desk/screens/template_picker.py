"""Choosing a canned reply: fuzzy search as you type, the customer's language first, and a
preview filled in for this ticket with every placeholder it cannot fill listed under it, so
the agent sees "no value for the customer's first name" before the text is in the reply."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_desk.screens.safe import safe_line, safe_text
from tui_desk.tickets.service import DeskService
from tui_desk.tickets.service_compose import Draft, Template


class TemplatePicker(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="templates.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="templates.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="templates.up"),
    ]

    def __init__(self, service: DeskService, draft: Draft) -> None:
        super().__init__()
        self.service = service
        self.draft = draft
        self.lang = service.customer_language(draft)
        self.found: list[Template] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide templates"):
            hint = f" (customer writes {self.lang}: those first)" if self.lang else ""
            yield Label(Text("Template" + hint, style="bold"))
            yield Input(placeholder="type to search: name, tag or words in the text", id="template-search")
            with Horizontal(id="template-panes"):
                yield OptionList(id="template-list")
                yield Static(id="template-preview")

    def on_mount(self) -> None:
        self._search("")
        self.query_one(Input).focus()

    def _search(self, text: str) -> None:
        self.found = self.service.templates(text, self.lang)
        box = self.query_one(OptionList)
        box.clear_options()
        for t in self.found:
            prompt = safe_line(t.name)
            if t.lang:
                prompt.append(f"  {t.lang}", style="dim")
            box.add_option(Option(prompt, id=t.name))
        if self.found:
            box.highlighted = 0
            self._preview(self.found[0].name)
        else:
            self.query_one("#template-preview", Static).update(Text("No template matches.", style="dim"))

    def _preview(self, name: str) -> None:
        try:
            preview = self.service.preview_template(self.draft, name)
        except ValueError as exc:
            self.query_one("#template-preview", Static).update(safe_line(str(exc)))
            return
        body = safe_text(preview.text)
        if preview.problems:
            body.append("\n\nTo fix before sending:\n", style="bold")
            for problem in preview.problems:
                body.append("✗ ", style="bold red")
                body.append_text(safe_line(problem))
                body.append("\n")
        self.query_one("#template-preview", Static).update(body)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        box = self.query_one(OptionList)
        if box.highlighted is not None and self.found:
            self.dismiss(self.found[box.highlighted].name)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._preview(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, delta: int) -> None:
        box = self.query_one(OptionList)
        if delta > 0:
            box.action_cursor_down()
        else:
            box.action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
