"""Writing a reply (or a new message): To/Cc, subject with the ticket tag, body, quoted
original, signature, templates, attachments, and the status the ticket gets once it is sent.

The draft is stored from the moment the screen opens and saved as you type (half a second
after the last keystroke), so a crash or a closed terminal loses nothing. Sending checks the
draft, then asks the server what happened on the ticket meanwhile (a worker), shows any
collision and asks; only then is the reply queued in the outbox, which a worker sends.
"""

from __future__ import annotations

import re
import time
from email.utils import getaddresses
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Select, Static, TextArea

from tui_desk.screens.dialogs import ConfirmDialog, TextDialog
from tui_desk.screens.messages import CollisionsChecked
from tui_desk.screens.notices import tell
from tui_desk.screens.safe import safe_line, safe_text
from tui_desk.screens.template_picker import TemplatePicker
from tui_desk.tickets.model import STATUSES
from tui_desk.tickets.service import DeskService
from tui_desk.tickets.service_compose import Draft, SendRefused

SAVE_AFTER = 0.5
"""Seconds after the last keystroke before the draft is written."""
MARK_EVERY = 300.0
"""Seconds between refreshes of the agent's "being answered by" mark while they type."""


def parse_addresses(text: str) -> list[tuple[str, str]]:
    return [(name, addr) for name, addr in getaddresses([text]) if addr]


def format_addresses(pairs: list[tuple[str, str]]) -> str:
    """For editing: names as people write them (never RFC 2047-encoded), quoted when a comma
    or bracket in a name would change how the line splits into addresses."""
    out = []
    for name, addr in pairs:
        if not name:
            out.append(addr)
        elif re.search(r'[,;<>@"()\[\]:]', name):
            out.append('"' + name.replace("\\", "\\\\").replace('"', '\\"') + f'" <{addr}>')
        else:
            out.append(f"{name} <{addr}>")
    return ", ".join(out)


class ComposerScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", id="composer.send"),
        Binding("ctrl+t", "template", "Template", id="composer.template"),
        Binding("ctrl+o", "attach", "Attach", id="composer.attach"),
        Binding("ctrl+g", "toggle_quote", "Quote", id="composer.quote"),
        Binding("escape", "close", "Close (keep draft)", id="composer.close"),
        Binding("ctrl+r", "discard", "Discard", id="composer.discard"),
    ]

    def __init__(self, draft: Draft) -> None:
        super().__init__(id="composer")
        self.draft = draft
        self._timer: Timer | None = None
        self._loading = True
        self._force = False
        self._marked = 0.0

    @property
    def service(self) -> DeskService:
        return self.app.service  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        d = self.draft
        what = {"reply": "Reply", "reply_all": "Reply to all", "new": "New message"}.get(d.mode, d.mode)
        title = Text(f"{what} · {d.ticket_ref}  ", style="bold")
        if len(self.service.accounts) > 1:  # which of the desk's addresses the customer will see
            try:
                title.append_text(safe_line(f"from {self.service.account(d.account or None).email}", "dim"))
            except Exception:  # the account was removed from the settings: sending will say so
                title.append_text(safe_line(f"from {d.account} (no longer set up)", "bold"))
        yield Static(title, id="composer-title")
        for label, name, value in (("To", "to", format_addresses(d.to)), ("Cc", "cc", format_addresses(d.cc)),
                                   ("Subject", "subject", d.subject)):  # fmt: skip
            with Horizontal(classes="field"):
                yield Label(label, classes="field-label")
                yield Input(value, id=name, compact=True)
        yield TextArea(d.body, id="reply-body", soft_wrap=True, show_line_numbers=False)
        yield Static(id="below")
        with Horizontal(id="composer-bar"):
            yield Label("Status after sending ", id="status-label")
            yield Select([(s, s) for s in STATUSES], value=d.status or "pending", allow_blank=False, id="send-status",
                         compact=True)  # fmt: skip
            yield Static("", id="draft-state")
        yield Static(id="problems")
        yield Footer()

    def on_mount(self) -> None:
        self._below()
        self.query_one("#reply-body", TextArea).focus()
        self.call_after_refresh(self._editing_ready)
        self._marked = time.monotonic()
        self._still_writing(self.draft)  # a draft taken up again is being answered again

    def on_unmount(self) -> None:
        """Sent, discarded, closed or the app quit: colleagues stop seeing "being answered"."""
        try:
            self.service.done_writing(self.draft)
        except Exception:  # a nicety: an uncleared mark expires by itself
            return

    def _editing_ready(self) -> None:
        self._loading = False

    # -- the draft ----------------------------------------------------------------------------
    def _fields(self) -> dict[str, object]:
        return {
            "to": parse_addresses(self.query_one("#to", Input).value),
            "cc": parse_addresses(self.query_one("#cc", Input).value),
            "subject": self.query_one("#subject", Input).value,
            "body": self.query_one("#reply-body", TextArea).text,
            "status": str(self.query_one("#send-status", Select).value),
        }

    def save_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        try:
            self.draft = self.service.save_draft(self.draft, **self._fields())
        except LookupError:
            return  # sent or discarded meanwhile
        self.query_one("#draft-state", Static).update(Text("draft saved", style="dim"))

    def _changed(self) -> None:
        if self._loading:
            return
        self.query_one("#draft-state", Static).update(Text("editing…", style="dim"))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SAVE_AFTER, self.save_now)
        if time.monotonic() - self._marked > MARK_EVERY:
            self._marked = time.monotonic()
            self._still_writing(self.draft)

    def _still_writing(self, draft: Draft) -> None:
        """Colleagues keep seeing "being answered by" this agent while they type. A local write
        (the sync pushes it), done here and not in a worker so it can never land after the
        clear written when the screen closes."""
        try:
            self.service.still_writing(draft)
        except Exception:  # a nicety: the mark was set when the reply was opened
            return

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._changed()

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self._changed()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._changed()

    def _below(self) -> None:
        d = self.draft
        text = Text()
        if d.attachments:
            text.append("Attached: ", style="bold")
            text.append_text(safe_line(", ".join(Path(p).name for p in d.attachments)))
            text.append("\n")
        if d.signature.strip():
            text.append("-- ", style="dim")
            text.append_text(safe_line(" · ".join(d.signature.strip("\n").split("\n")), "dim"))
            text.append("\n")
        if d.quoted:
            if d.quote:
                lines = [line for line in d.quoted.rstrip("\n").split("\n") if line.strip(" >")]
                text.append_text(safe_text("\n".join(lines[:3]), "dim italic"))
                more = f"┄ {len(lines) - 3} more quoted lines  " if len(lines) > 3 else ""
                text.append(f"\n{more}(ctrl+g leaves the original out)", style="dim")
            else:
                text.append("The original is not quoted (ctrl+g puts it back).", style="dim italic")
        self.query_one("#below", Static).update(text)

    def show_problems(self, title: str, lines: list[str]) -> None:
        text = Text()
        if lines:
            text.append(title + "\n", style="bold")
            for line in lines:
                text.append("✗ ", style="bold red")
                text.append_text(safe_line(line))
                text.append("\n")
        self.query_one("#problems", Static).update(text)

    # -- actions ------------------------------------------------------------------------------
    def action_toggle_quote(self) -> None:
        self.save_now()
        self.draft = self.service.save_draft(self.draft, quote=not self.draft.quote)
        self._below()

    def action_template(self) -> None:
        self.save_now()

        def chosen(name: str | None) -> None:
            if not name:
                return
            self.draft, problems = self.service.apply_template(self.draft, name)
            self._loading = True
            self.query_one("#reply-body", TextArea).text = self.draft.body
            self.call_after_refresh(self._editing_ready)
            self.show_problems("Placeholders to fill in before sending:", problems)
            self.query_one("#reply-body", TextArea).focus()

        self.app.push_screen(TemplatePicker(self.service, self.draft), chosen)

    def action_attach(self) -> None:
        def attach(value: object) -> None:
            text = str(value)
            paths = list(self.draft.attachments)
            if text.startswith("-"):
                paths = [p for p in paths if Path(p).name != text[1:] and p != text[1:]]
            else:
                path = Path(text).expanduser()
                if not path.is_file():
                    tell(self, f"{path} is not a file", severity="error")
                    return
                paths.append(str(path.resolve()))
            self.save_now()
            self.draft = self.service.save_draft(self.draft, attachments=paths)
            self._below()

        self.app.push_screen(TextDialog("Attach a file", placeholder="path/to/file.pdf   (-name removes one)"),
                             lambda v: attach(v) if v else None)  # fmt: skip

    def action_close(self) -> None:
        self.save_now()
        tell(self, "Draft kept: reply again to go on with it", timeout=3)
        self.dismiss()

    def action_discard(self) -> None:
        def sure(yes: object) -> None:
            if yes:
                self.service.discard(self.draft)
                tell(self, "Draft discarded", timeout=2)
                self.dismiss()

        self.app.push_screen(ConfirmDialog("Discard this draft?", ["What you wrote is deleted."], yes="Discard",
                                           no="Keep it"), sure)  # fmt: skip

    def action_send(self) -> None:
        self.save_now()
        hard = self.service.send_problems(self.draft, placeholders=False)
        if hard:
            self.show_problems("Cannot send yet:", hard)
            return
        soft = self.service.send_problems(self.draft)
        if soft:
            self.show_problems("Placeholders to fill in before sending:", soft)
            self.app.push_screen(ConfirmDialog("Send with these placeholders left in?", soft, yes="Send anyway",
                                               no="Keep editing"),
                                 lambda yes: self._check_collisions(force=True) if yes else None)  # fmt: skip
            return
        self._check_collisions(force=False)

    def _check_collisions(self, *, force: bool) -> None:
        self.query_one("#draft-state", Static).update(Text("checking for news on the ticket…", style="dim"))
        self._force = force
        self._collisions(self.draft)

    @work(thread=True, exclusive=True, group="collisions", exit_on_error=False)
    def _collisions(self, draft: Draft) -> None:
        try:
            lines = self.service.collisions(draft)
        except Exception as exc:  # offline: say so, still let the agent send
            self.post_message(CollisionsChecked([], str(exc)))
            return
        self.post_message(CollisionsChecked(lines))

    def on_collisions_checked(self, message: CollisionsChecked) -> None:
        if message.error:
            tell(self, f"Could not check the ticket for news: {message.error}", severity="warning")
        if message.lines:
            self.app.push_screen(ConfirmDialog("While you were writing", message.lines, yes="Send anyway",
                                               no="Keep editing"),
                                 lambda yes: self._queue() if yes else None)  # fmt: skip
            return
        self._queue()

    def _queue(self) -> None:
        try:
            self.service.send(self.draft, force=self._force)
        except SendRefused as exc:
            self.show_problems("Cannot send yet:", exc.problems)
            return
        deliver = getattr(self.app, "deliver_outbox", None)
        if deliver is not None:
            deliver(self.draft.account)
        tell(self, f"Reply queued; the ticket will be {self.draft.status} once it is sent", timeout=3)
        self.dismiss()
