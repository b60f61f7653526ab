"""Ticket actions shared by the list and the ticket screen: status, priority, assign, tag,
note, merge, mark unread, reply. One implementation, so `s` means the same everywhere.

A screen using this mixin says what the action applies to (`action_targets`: the selection,
the cursor row, or the open ticket) and what to do once a change is written (`changed`).
Writes run in a worker thread and report back with `ChangeApplied`: SQLite may have to wait
for a sync batch to commit, and the UI must not wait with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding
from textual.screen import Screen

from tui_desk.screens.dialogs import ChoiceDialog, ConfirmDialog, NoteDialog, TextDialog
from tui_desk.screens.messages import ChangeApplied
from tui_desk.screens.notices import tell
from tui_desk.tickets.model import PRIORITIES, STATUSES
from tui_desk.tickets.service import ChangeSet

if TYPE_CHECKING:
    from tui_desk.tickets.service import DeskService


def ticket_bindings(prefix: str) -> list[Binding]:
    """The ticket keys, with ids under `prefix` ("list" or "ticket") so each is remappable."""
    return [
        Binding("r", "reply", "Reply", id=f"{prefix}.reply"),
        Binding("R", "reply_all", "Reply all", show=False, id=f"{prefix}.reply_all"),
        Binding("n", "note", "Note", id=f"{prefix}.note"),
        Binding("s", "status", "Status", id=f"{prefix}.status"),
        Binding("p", "priority", "Priority", show=False, id=f"{prefix}.priority"),
        Binding("a", "assign", "Assign", id=f"{prefix}.assign"),
        Binding("t", "tag", "Tag", show=False, id=f"{prefix}.tag"),
        Binding("m", "merge", "Merge", show=False, id=f"{prefix}.merge"),
        Binding("u", "mark_unread", "Unread", show=False, id=f"{prefix}.unread"),
    ]


class TicketActions(Screen[Any]):
    """Base for screens that act on tickets."""

    @property
    def service(self) -> DeskService:
        return self.app.service  # type: ignore[attr-defined, no-any-return]

    def action_targets(self) -> list[str]:
        raise NotImplementedError

    def changed(self, refs: tuple[str, ...]) -> None:
        """Called on the UI thread after a change was written (refresh what shows it)."""

    def _targets_or_bell(self) -> list[str]:
        refs = self.action_targets()
        if not refs:
            self.app.bell()
        return refs

    def _label(self, refs: list[str]) -> str:
        return refs[0] if len(refs) == 1 else f"{len(refs)} tickets"

    def _ask(self, dialog: Any, then: Callable[[Any], None]) -> None:
        def done(answer: object) -> None:
            if answer is not None:
                then(answer)

        self.app.push_screen(dialog, done)

    # -- the actions --------------------------------------------------------------------------
    def action_status(self) -> None:
        if refs := self._targets_or_bell():
            self._ask(ChoiceDialog(f"Status of {self._label(refs)}", [(s, s) for s in STATUSES], self._now("status")),
                      lambda v: self.apply(refs, ChangeSet(status=str(v)), f"status {v}"))  # fmt: skip

    def action_priority(self) -> None:
        if refs := self._targets_or_bell():
            self._ask(ChoiceDialog(f"Priority of {self._label(refs)}", [(p, p) for p in PRIORITIES],
                                   self._now("priority")),
                      lambda v: self.apply(refs, ChangeSet(priority=str(v)), f"priority {v}"))  # fmt: skip

    def action_assign(self) -> None:
        if refs := self._targets_or_bell():
            people = [*self.service.agents(), "nobody"]
            self._ask(TextDialog(f"Assign {self._label(refs)} to", placeholder="an address, me, or nobody",
                                 suggestions=people),
                      lambda v: self.apply(refs, ChangeSet(assignee="" if v in ("nobody", "none") else v),
                                           f"assigned to {v}"))  # fmt: skip

    def action_tag(self) -> None:
        if refs := self._targets_or_bell():
            self._ask(TextDialog(f"Tag {self._label(refs)}", placeholder="billing   (-billing removes it)",
                                 hint="several at once: billing vip -spam"),
                      lambda v: self._tag(refs, str(v)))  # fmt: skip

    def _tag(self, refs: list[str], text: str) -> None:
        words = text.replace(",", " ").split()
        add = tuple(w for w in words if not w.startswith("-"))
        remove = tuple(w[1:] for w in words if w.startswith("-") and len(w) > 1)
        self.apply(refs, ChangeSet(add_tags=add, remove_tags=remove), f"tags {text}")

    def action_note(self) -> None:
        if refs := self._targets_or_bell():
            self._ask(NoteDialog(f"Internal note on {self._label(refs)} (only the team sees it)"),
                      lambda v: self.apply(refs, ChangeSet(note=str(v)), "note added"))  # fmt: skip

    def action_merge(self) -> None:
        if refs := self._targets_or_bell():
            self._ask(TextDialog(f"Merge {self._label(refs)} into ticket", placeholder="T-…"),
                      lambda v: self._confirm_merge(refs, str(v)))  # fmt: skip

    def _confirm_merge(self, refs: list[str], target: str) -> None:
        """A merge cannot be undone: say what goes where, by subject, and ask."""
        try:
            into = self.service.tickets([*refs[:3], target])
        except LookupError as exc:
            tell(self, f"Not merged: {exc}", severity="error")
            return
        *sources, goal = into
        if len(refs) == 1 and sources[0].ref == goal.ref:
            tell(self, f"Not merged: {goal.ref} is this very ticket", severity="error")
            return
        facts = [f"{r.ref}  {r.subject}" for r in sources] + ([f"and {len(refs) - 3} more"] if len(refs) > 3 else [])
        facts += [f"into {goal.ref}  {goal.subject}",
                  "Their mail, notes and history move there; the old ids keep leading to it."]  # fmt: skip
        self._ask(ConfirmDialog(f"Merge {self._label(refs)} into {goal.ref}?", facts, yes="Merge", no="Cancel"),
                  lambda yes: self._merge(refs, goal.ref) if yes else None)  # fmt: skip

    @work(thread=True, group="change", exit_on_error=False)
    def _merge(self, refs: list[str], target: str) -> None:
        done: list[str] = []
        errors: list[str] = []
        for ref in refs:
            try:
                done.append(self.service.merge(ref, target))
            except (LookupError, ValueError) as exc:
                errors.append(f"{ref}: {exc}")
        summary = f"merged {self._label(refs)} into {done[0]}" if done else ""
        self.post_message(ChangeApplied((*refs, *done), summary, "; ".join(errors)))

    def action_mark_unread(self) -> None:
        if refs := self._targets_or_bell():
            self._run(refs, "marked unread", lambda: [self.service.mark_unread(r) for r in refs])

    def action_reply(self) -> None:
        self._open_composer("reply")

    def action_reply_all(self) -> None:
        self._open_composer("reply_all")

    def _open_composer(self, mode: str) -> None:
        refs = self._targets_or_bell()
        if not refs:
            return
        from tui_desk.screens.composer import ComposerScreen

        try:
            kept = [d for d in self.service.drafts_for(refs[0]) if d.mode == mode and d.agent == self.service.agent]
            draft = kept[0] if kept else self.service.open_reply(refs[0], mode)
        except Exception as exc:  # no account, ticket gone: say so, do not crash
            tell(self, f"Cannot reply: {exc}", severity="error")
            return
        if kept:
            tell(self, "Your draft of this reply is back", timeout=3)
        self.app.push_screen(ComposerScreen(draft))

    def _now(self, name: str) -> str | None:
        return None

    # -- running changes ----------------------------------------------------------------------
    def apply(self, refs: list[str], changes: ChangeSet, what: str) -> None:
        self._apply(refs, changes, what)

    @work(thread=True, group="change", exit_on_error=False)
    def _apply(self, refs: list[str], changes: ChangeSet, what: str) -> None:
        try:
            result = self.service.bulk_change(refs, changes)
        except Exception as exc:  # the database said no: report it, the UI goes on
            self.post_message(ChangeApplied(tuple(refs), "", str(exc)))
            return
        errors = "; ".join(f"{r}: {why}" for r, why in result.failed)
        summary = f"{self._label(list(result.done))}: {what}" if result.done else ""
        self.post_message(ChangeApplied(tuple(refs), summary, errors))

    @work(thread=True, group="change", exit_on_error=False)
    def _run(self, refs: list[str], what: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as exc:
            self.post_message(ChangeApplied(tuple(refs), "", str(exc)))
            return
        self.post_message(ChangeApplied(tuple(refs), f"{self._label(refs)}: {what}"))

    def on_change_applied(self, message: ChangeApplied) -> None:
        if message.error:
            tell(self, message.error, title="Not changed", severity="error")
        if message.summary:
            tell(self, message.summary)
        self.changed(message.refs)
