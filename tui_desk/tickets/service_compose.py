"""The reply half of `DeskService`: drafts, templates, collision checks and queueing.

Thin on purpose: the rules live in `composer`, `templates`, `collisions` and `outbox`; this
only fixes the account and agent so the composer screen never handles a `Config`, and turns
every expected refusal into plain-word lines the screen can list before the agent sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui_desk.config import Account, Config, ConfigError
from tui_desk.tickets import composer
from tui_desk.tickets import templates as tpl
from tui_desk.tickets.composer import Draft
from tui_desk.tickets.templates import Template

if TYPE_CHECKING:
    from tui_desk.storage.db import Database

__all__ = ["ComposeMixin", "Draft", "SendRefused", "Template", "TemplatePreview"]


class SendRefused(ValueError):
    """The draft cannot be queued as it is; `problems` are plain-word lines to show."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TemplatePreview:
    name: str
    lang: str
    text: str
    problems: tuple[str, ...]


class ComposeMixin:
    """Mixed into `DeskService`, which provides these attributes."""

    db: Database
    config: Config

    def account(self, name: str | None = None) -> Account:  # provided by AccountsMixin
        raise NotImplementedError

    def nudge(self) -> None:  # provided by AccountsMixin
        raise NotImplementedError

    def open_reply(self, ref: str, mode: str = "reply") -> Draft:
        """A reply (or "reply_all") draft, stored at once: typing is saved from the first key.
        It goes out through the account the ticket's mail came in on (`reply_account`). The
        colleagues see the ticket as being answered as soon as the background sync pushed the
        mark (it is nudged: seconds)."""
        draft = composer.open_reply(self.db, self.config, self.reply_account(ref), ref, mode)
        self.nudge()
        return draft

    def reply_account(self, ref: str) -> Account:
        """The account replies to ticket `ref` are sent from (not simply the first one)."""
        return composer.reply_account(self.db, self.config, ref)

    def _draft_account(self, draft: Draft) -> Account:
        """The draft's account, for filling in templates (the first one if it was removed since)."""
        try:
            return self.account(draft.account or None)
        except ConfigError:
            return self.account()

    def open_new(self, to: list[tuple[str, str]], subject: str) -> Draft:
        return composer.open_new(self.db, self.config, self.account(), to, subject)

    def still_writing(self, draft: Draft) -> None:
        """Set or refresh the agent's "being answered by" mark while the composer is open (a
        draft taken up again, typing): it expires after half an hour otherwise."""
        if draft.ticket_ref and draft.mode != "new":
            from tui_desk.tickets.collisions import note_composing

            if note_composing(self.db, draft.ticket_ref, draft.agent, draft.opened_at):
                self.nudge()

    def done_writing(self, draft: Draft) -> None:
        """The composer closed (the draft is kept): nobody is writing this reply now."""
        if draft.ticket_ref and draft.mode != "new":
            from tui_desk.tickets.collisions import done_composing

            if done_composing(self.db, draft.ticket_ref, draft.agent):
                self.nudge()

    def drafts_for(self, ref: str) -> list[Draft]:
        return composer.drafts_for(self.db, ref)

    def save_draft(self, draft: Draft, **changes: Any) -> Draft:
        return composer.save_draft(self.db, draft, **changes)

    def discard(self, draft: Draft) -> None:
        composer.discard(self.db, draft)
        self.nudge()  # the mark's clear

    # -- templates ----------------------------------------------------------------------------
    def customer_language(self, draft: Draft) -> str:
        """A guess at the language the customer writes in (their templates are listed first)."""
        return tpl.guess_language(draft.quoted or draft.subject)

    def _seed_templates(self) -> None:
        """A desk's first template use seeds the built-in ones: one write, then reads only (the
        picker searches on every keystroke and must not queue behind a sync's writes)."""
        if not getattr(self, "_templates_seeded", False):
            with self.db.write() as conn:
                tpl.ensure_defaults(conn)
            self._templates_seeded = True

    def templates(self, text: str = "", lang: str = "") -> list[Template]:
        self._seed_templates()
        with self.db.read() as conn:
            if text.strip():
                return tpl.search(conn, text, lang)
            found = tpl.all_templates(conn)
        return sorted(found, key=lambda t: (0 if lang and t.lang == lang else 1, t.name.casefold()))

    def preview_template(self, draft: Draft, name: str) -> TemplatePreview:
        """The template filled in for this draft, and each placeholder it could not fill."""
        self._seed_templates()
        with self.db.read() as conn:
            t = tpl.get(conn, name)
        result = t.render(composer.template_values(self.db, draft, self.config, self._draft_account(draft)))
        return TemplatePreview(t.name, t.lang, result.text, tuple(p.line(t.body) for p in result.problems))

    def apply_template(self, draft: Draft, name: str) -> tuple[Draft, list[str]]:
        """Put the filled-in template in the body; returns the problems (unfilled placeholders)."""
        body_before = draft.body
        updated, result = composer.apply_template(self.db, draft, name, self.config, self._draft_account(draft))
        if body_before.strip():  # keep what the agent typed already, under the template
            updated = composer.save_draft(self.db, updated, body=result.text.rstrip("\n") + "\n\n" + body_before)
        return updated, [p.line(result.text) for p in result.problems]

    # -- sending ------------------------------------------------------------------------------
    def send_problems(self, draft: Draft, *, placeholders: bool = True) -> list[str]:
        """What stops this draft from going out (no recipient, bad attachment, and unless
        `placeholders=False`, unfilled placeholders, which the agent may send anyway)."""
        from tui_desk.tickets import outbox

        return outbox.problems(draft, placeholders=placeholders)

    def collisions(self, draft: Draft, *, sync_first: bool = True) -> list[str]:
        """What happened on the ticket since the composer opened: new customer mail, a colleague's
        reply, a colleague writing too. Syncs the ticket's folders first when it can (a worker
        calls this: it talks to the server)."""
        from tui_desk.credentials import CredentialError, get_password
        from tui_desk.tickets import collisions

        if not draft.ticket_ref or draft.mode == "new":
            return []
        account = self.account(draft.account or None)
        sync = None
        if sync_first:
            try:
                password = get_password(account)
            except CredentialError:
                password = ""
            if password:
                def sync() -> object:
                    return collisions.sync_ticket_folders(self.db, account, password, draft.ticket_ref)
        found = collisions.check_collisions(self.db, draft.ticket_ref, draft.opened_at, draft.agent, sync=sync)
        return [c.line() for c in found]

    def send(self, draft: Draft, *, force: bool = False) -> int:
        """Queue the draft in the outbox (the draft becomes the outbox row); `force` sends with
        unfilled placeholders. Raises SendRefused with plain-word problems."""
        from tui_desk.mail.compose import AttachmentError, HeaderInjection
        from tui_desk.tickets import outbox

        try:
            item = outbox.enqueue(self.db, draft, self.config, self.account(draft.account or None), force=force)
        except outbox.ReplyProblems as exc:
            raise SendRefused(exc.problems) from None
        except (HeaderInjection, AttachmentError, outbox.AutoReplyRefused, ValueError) as exc:
            raise SendRefused([str(exc)]) from None
        self.nudge()  # the mark's clear
        return item
