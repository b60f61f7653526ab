"""Small modal questions: pick one of a few, type a value, write a note, confirm.

Each returns its answer through `dismiss` (None when cancelled with esc), so the screen that
asked does the work; a dialog never changes data itself. All labels are `Text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tui_desk.screens.safe import safe_line

CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel")


class _Keys(dict[str, str]):
    def __missing__(self, action: str) -> str:
        return action


def _braced(text: str) -> str:
    """`text` safe inside a `str.format` pattern."""
    return text.replace("{", "{{").replace("}", "}}")


class _Dialog(ModalScreen[object]):
    """A dialog ends with a dim line saying its keys (the screen's footer below is not its own);
    `hint_text` names actions in braces so a key remapped in the settings is shown as it is now."""

    BINDINGS: ClassVar[list[BindingType]] = [CANCEL]
    hint_text = "{cancel} cancels"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def hint_label(self) -> Label:
        return Label(classes="hint")

    def on_mount(self) -> None:
        actions = {item.binding.action for item in self.active_bindings.values() if item.node is self}
        keys = _Keys({a: self.keys_of(a) for a in actions})
        for label in self.query(".hint").results(Label):
            label.update(Text(self.hint_text.format_map(keys), style="dim"))

    def keys_of(self, action: str) -> str:
        """The keys that run `action` in this dialog now ("esc/n")."""
        shown = [self.app.get_key_display(Binding(key, action)) for key, item in self.active_bindings.items()
                 if item.binding.action == action and item.node is self]  # fmt: skip
        return "/".join(shown)


class ChoiceDialog(_Dialog):
    """One of a few values (status, priority); j/k or arrows, enter, or a click."""

    hint_text = "enter chooses · {cancel} cancels"

    BINDINGS: ClassVar[list[BindingType]] = [CANCEL, Binding("j", "down", show=False, id="dialog.down"),
                Binding("k", "up", show=False, id="dialog.up")]  # fmt: skip

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], current: str | None = None, *,
                 start: str | None = None) -> None:  # fmt: skip
        """`current` is marked "(now)" and highlighted; `start` is only highlighted."""
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.current = current
        self.start = start if start is not None else current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"))
            options = [Option(Text(label) + (Text("  (now)", style="dim") if v == self.current else Text("")), id=v)
                       for v, label in self.choices]  # fmt: skip
            yield OptionList(*options, id="choices")
            yield self.hint_label()

    def on_mount(self) -> None:
        choices = self.query_one(OptionList)
        values = [v for v, _ in self.choices]
        choices.highlighted = values.index(self.start) if self.start in values else 0
        choices.focus()

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class TextDialog(_Dialog):
    """A value typed in (assignee, tag, merge target), with suggestions to pick from."""

    hint_text = "enter takes it · {cancel} cancels"

    def __init__(self, title: str, *, placeholder: str = "", value: str = "", suggestions: Sequence[str] = (),
                 hint: str = "") -> None:  # fmt: skip
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.suggestions = list(suggestions)
        self.hint = hint
        if self.suggestions:
            self.hint_text = "enter takes it · tab goes to the suggestions · {cancel} cancels"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"))
            yield Input(self.value, placeholder=self.placeholder, id="value")
            if self.hint:
                yield Label(Text(self.hint, style="dim"))
            if self.suggestions:
                yield OptionList(*[Option(safe_line(s), id=str(i)) for i, s in enumerate(self.suggestions)],
                                 id="suggestions")  # fmt: skip
            yield self.hint_label()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.suggestions[event.option_index])


class NoteDialog(_Dialog):
    """An internal note (never sent to the customer): ctrl+s saves, esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [CANCEL, Binding("ctrl+s", "save", "Save note", id="note.save")]
    hint_text = "{save} saves the note · {cancel} cancels"

    def __init__(self, title: str = "Internal note (only the team sees it)") -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text(self.title_text, style="bold"))
            yield TextArea(id="note-text", soft_wrap=True)
            with Horizontal(classes="buttons"):
                yield Button("Save note", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
            yield self.hint_label()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        self.dismiss(text if text.strip() else None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)


class ConfirmDialog(_Dialog):
    """A question with the facts it is about (e.g. collisions before sending): y / n."""

    BINDINGS: ClassVar[list[BindingType]] = [CANCEL, Binding("y", "yes", "Yes", id="confirm.yes"), Binding("n", "cancel", "No", id="confirm.no")]

    def __init__(self, title: str, lines: Sequence[str], yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.title_text = title
        self.lines = list(lines)
        self.yes = yes
        self.no = no
        self.hint_text = f"{{yes}}: {_braced(yes)} · {{cancel}}: {_braced(no)}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text(self.title_text, style="bold"))
            body = Text()
            for line in self.lines:
                body.append("• ")
                body.append_text(safe_line(line))
                body.append("\n")
            yield Static(body, classes="facts")
            with Horizontal(classes="buttons"):
                yield Button(Text(self.yes), variant="warning", id="yes")
                yield Button(Text(self.no), id="no")
            yield self.hint_label()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_yes(self) -> None:
        self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class HelpDialog(_Dialog):
    """The keys of the screen it was opened from (what `?` shows): two columns when the terminal
    is wide enough, scrolling when even that does not fit."""

    BINDINGS: ClassVar[list[BindingType]] = [CANCEL, Binding("question_mark,q", "cancel", "Close", show=False, id="help.close")]
    hint_text = "↑/↓ scroll · {cancel} closes · ctrl+p finds every action by name"

    def __init__(self, title: str, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        columns = 2 if self.app.size.width >= 76 and len(self.keys) > 8 else 1
        width = max((len(k) for k, _ in self.keys), default=4) + 2
        grid = Table.grid(padding=(0, 1, 0, 0), expand=True)
        for _ in range(columns):
            grid.add_column(width=width, no_wrap=True)
            grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        rows = (len(self.keys) + columns - 1) // columns
        for r in range(rows):
            cells: list[Text] = []
            for c in range(columns):
                i = c * rows + r
                key, what = self.keys[i] if i < len(self.keys) else ("", "")
                cells += [Text(key, style="bold"), Text(what)]
            grid.add_row(*cells)
        with Vertical(classes="dialog wide help"):
            yield Label(Text(f"Keys: {self.title_text}", style="bold"))
            with VerticalScroll(id="help-scroll"):
                yield Static(grid, id="help-keys")
            yield self.hint_label()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()
