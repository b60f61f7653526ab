"""The composer's model (no UI): reply, reply-all and new-message drafts saved as you type.

The screen calls `open_reply` / `open_new` (or `resume` after a restart), `save_draft` on
every change (one UPDATE: cheap enough for each keystroke batch), `apply_template`, and
finally `tickets.outbox.enqueue`. A draft gets its Message-ID when it is opened, so the
ticket tag and the threading headers are known from the first keystroke and a retry after
any failure is the very same mail.

Layout of the text sent (top-posting, as help desks do): the agent's text, then
"-- \\n" + signature, then the attribution line and the `> `-quoted customer message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from tui_desk.config import Account, Config, ConfigError
from tui_desk.mail.compose import check_address, domain_of, new_message_id, quote
from tui_desk.storage import drafts as store
from tui_desk.storage import tickets as rows
from tui_desk.storage.db import Database
from tui_desk.tickets import apply, composing, desk, workflow
from tui_desk.tickets.ids import strip_prefixes
from tui_desk.tickets.placeholders import RenderResult, first_name, last_name
from tui_desk.tickets.templates import get as get_template

MODES = ("reply", "reply_all", "new")


def subject_tag(ref: str) -> str:
    """The ticket tag our subjects carry ("[#T-4F7K2AB9]"); `ids.TAG_RE` finds it again."""
    return f"[#{ref}]"


def reply_subject(subject: str, ref: str) -> str:
    """One "Re: ", then the tag, then the subject without any old markers or tags."""
    return f"Re: {subject_tag(ref)} {strip_prefixes(subject)}".rstrip()


@dataclass(slots=True)
class Draft:
    id: int
    account: str
    ticket_ref: str
    mode: str
    agent: str
    message_id: str
    to: list[tuple[str, str]] = field(default_factory=list)
    cc: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    quote: bool = True
    quoted: str = ""
    signature: str = ""
    attachments: list[str] = field(default_factory=list)
    status: str = "pending"
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    template: str = ""
    opened_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def full_text(self) -> str:
        """What the customer will read."""
        parts = [self.body.rstrip("\n")]
        if self.signature.strip():
            parts.append("-- \n" + self.signature.rstrip("\n"))
        if self.quote and self.quoted:
            parts.append(self.quoted.rstrip("\n"))
        return "\n\n".join(parts) + "\n"

    def values(self) -> dict[str, Any]:
        """The columns of the drafts table (also the JSON an outbox row keeps for retries)."""
        return {
            "account": self.account, "ticket_ref": self.ticket_ref, "mode": self.mode, "agent": self.agent,
            "to_addrs": self.to, "cc_addrs": self.cc, "subject": self.subject, "body": self.body,
            "quote": self.quote, "quoted": self.quoted, "signature": self.signature,
            "attachments": self.attachments, "status": self.status, "message_id": self.message_id,
            "in_reply_to": self.in_reply_to, "refs": " ".join(self.references), "template": self.template,
        }  # fmt: skip

    @classmethod
    def from_values(cls, data: dict[str, Any], draft_id: int = 0) -> Draft:
        return cls(
            id=draft_id, account=data["account"], ticket_ref=data["ticket_ref"], mode=data["mode"],
            agent=data["agent"], message_id=data["message_id"],
            to=[(str(n), str(a)) for n, a in data["to_addrs"]], cc=[(str(n), str(a)) for n, a in data["cc_addrs"]],
            subject=data["subject"], body=data["body"], quote=bool(data["quote"]), quoted=data["quoted"],
            signature=data["signature"], attachments=list(data["attachments"]), status=data["status"],
            in_reply_to=data["in_reply_to"], references=data["refs"].split(), template=data["template"],
            opened_at=data.get("opened_at") or datetime.now(UTC),
        )  # fmt: skip


def our_addresses(conn: Connection, config: Config, account: Account) -> set[str]:
    found = rows.agent_addresses(conn)
    found.update(a.email.lower() for a in config.accounts)
    found.update(x.lower() for x in (account.email, config.agent.email) if x)
    return found


def _agent(config: Config, agent: str | None) -> str:
    return desk.agent_identity(agent or config.agent.email or None)


def _signature(config: Config) -> str:
    return config.agent.signature.strip("\n")


def _attribution(msg: dict[str, Any]) -> str:
    when = msg["date"].strftime("%Y-%m-%d %H:%M") if msg["date"] else "?"
    who = f"{msg['from_name']} <{msg['from_addr']}>" if msg["from_name"] else msg["from_addr"]
    return f"On {when}, {who} wrote:"


def _ticket_messages(conn: Connection, pk: int) -> list[dict[str, Any]]:
    return store.thread_messages(conn, [p for p, _ref in rows.family(conn, pk)])


def _reply_fields(conn: Connection, pk: int, mode: str, ours: set[str]) -> dict[str, Any]:
    ticket = rows.get_ticket(conn, pk) or {}
    messages = _ticket_messages(conn, pk)
    customer = [m for m in messages if not m["ours"] and not m["auto_submitted"]]
    last = customer[-1] if customer else (messages[-1] if messages else None)
    to: list[tuple[str, str]] = []
    cc: list[tuple[str, str]] = []
    if last is not None and not last["ours"]:
        to = list(last["reply_to"]) or [(last["from_name"], last["from_addr"])]
    elif ticket.get("requester_addr"):
        to = [(ticket.get("requester_name", ""), ticket["requester_addr"])]
    if mode == "reply_all" and last is not None:
        taken = {a.lower() for _n, a in to} | ours
        for name, addr in [*last["to_addrs"], *last["cc_addrs"]]:
            if addr and addr.lower() not in taken:
                cc.append((name, addr))
                taken.add(addr.lower())
    to = [(n, a) for n, a in to if a and a.lower() not in ours] or to
    out: dict[str, Any] = {"to": to, "cc": cc, "subject": reply_subject(ticket.get("subject", ""), ticket["ref"])}
    if last is not None:
        if not last["message_id_synthetic"]:
            out["in_reply_to"] = last["message_id"]
            out["references"] = [*last["refs"], last["message_id"]]
        else:
            out["references"] = list(last["refs"])
        if not last["ours"] and last["text"].strip():
            out["quoted"] = quote(last["text"], _attribution(last))
    return out


def reply_account(db: Database, config: Config, ticket: str | int) -> Account:
    """The account a reply to `ticket` goes out through: the one the customer's mail came in on
    (their latest message fetched by a configured account), else the account of any of the
    ticket's messages (our replies in its Sent folder), else, for imported mail that no
    account fetched, the account whose address the customer wrote to; the first account last."""
    if not config.accounts:
        raise ConfigError("no mail account is set up yet")
    with db.read() as conn:
        pk = rows.survivor(conn, ticket if isinstance(ticket, int) else workflow.resolve(conn, ticket))
        messages = _ticket_messages(conn, pk)
        names = store.account_names(conn)
    configured = {a.name: a for a in config.accounts}
    customer = [m for m in messages if not m["ours"] and not m["auto_submitted"]]
    for m in [*reversed(customer), *reversed(messages)]:
        name = names.get(m["account_id"]) if m["account_id"] is not None else None
        if name in configured:
            return configured[name]
    by_address = {a.email.lower(): a for a in config.accounts if a.email}
    for m in reversed(customer):
        for _name, addr in [*m["to_addrs"], *m["cc_addrs"]]:
            if addr.lower() in by_address:
                return by_address[addr.lower()]
    return config.accounts[0]


def open_reply(db: Database, config: Config, account: Account, ticket: str | int, mode: str = "reply",
               agent: str | None = None) -> Draft:  # fmt: skip
    """A new reply (or reply-all) draft to a ticket, stored at once, and a composing mark."""
    if mode not in ("reply", "reply_all"):
        raise ValueError(f"mode must be reply or reply_all, not {mode!r}")
    who = _agent(config, agent)
    with db.write() as conn:
        pk = rows.survivor(conn, ticket if isinstance(ticket, int) else workflow.resolve(conn, ticket))
        ref = workflow.ref_of(conn, pk)
        fields = _reply_fields(conn, pk, mode, our_addresses(conn, config, account))
        draft = Draft(id=0, account=account.name, ticket_ref=ref, mode=mode, agent=who,
                      message_id=new_message_id(domain_of(account.email)), signature=_signature(config),
                      status=config.reply_status, **fields)  # fmt: skip
        draft.id = store.insert(conn, draft.values(), draft.opened_at)
        composing.mark(conn, ref, who, draft.opened_at)
    return draft


def open_new(db: Database, config: Config, account: Account, to: list[tuple[str, str]], subject: str,
             agent: str | None = None) -> Draft:  # fmt: skip
    """A new message to a customer: a new ticket whose id (and tag) comes from its Message-ID."""
    for name, addr in to:
        check_address("To", name, addr)
    message_id = new_message_id(domain_of(account.email))
    with db.write() as conn:
        ref = apply.free_ref(conn, message_id)
        draft = Draft(id=0, account=account.name, ticket_ref=ref, mode="new", agent=_agent(config, agent),
                      message_id=message_id, to=list(to), subject=f"{subject_tag(ref)} {subject.strip()}",
                      signature=_signature(config), status=config.reply_status, quote=False)  # fmt: skip
        draft.id = store.insert(conn, draft.values(), draft.opened_at)
    return draft


def resume(db: Database, draft_id: int) -> Draft:
    with db.read() as conn:
        data = store.load(conn, draft_id)
    if data is None:
        raise LookupError(f"no draft {draft_id}")
    return Draft.from_values(data, draft_id)


def drafts_for(db: Database, ticket_ref: str) -> list[Draft]:
    """The drafts left for a ticket, the most recently edited first."""
    with db.read() as conn:
        ids = store.for_ticket(conn, ticket_ref)
    return [resume(db, i) for i in ids]


def save_draft(db: Database, draft: Draft, **changes: Any) -> Draft:
    """Apply `changes` (any Draft field) and store them; call it on every edit."""
    updated = dataclasses.replace(draft, **changes)
    values = updated.values()
    wanted = values if not changes else {k: v for k, v in values.items() if k in _columns(changes)}
    with db.write() as conn:
        if not store.save(conn, draft.id, wanted):
            raise LookupError(f"draft {draft.id} was discarded or sent")
    return updated


def _columns(changes: dict[str, Any]) -> set[str]:
    names = {"to": "to_addrs", "cc": "cc_addrs", "references": "refs"}
    return {names.get(k, k) for k in changes}


def discard(db: Database, draft: Draft) -> None:
    with db.write() as conn:
        store.delete(conn, draft.id)
        if draft.ticket_ref:
            composing.withdraw(conn, draft.ticket_ref, draft.agent)


def template_values(db: Database, draft: Draft, config: Config, account: Account) -> dict[str, str | None]:
    """The whitelisted values placeholders may use, for this draft's ticket and agent."""
    ticket: dict[str, Any] = {}
    with db.read() as conn:
        pk = rows.pk_for_ref(conn, draft.ticket_ref) if draft.ticket_ref else None
        if pk is not None:
            ticket = rows.get_ticket(conn, rows.survivor(conn, pk)) or {}
    name = (draft.to[0][0] if draft.to else "") or ticket.get("requester_name", "")
    email = (draft.to[0][1] if draft.to else "") or ticket.get("requester_addr", "")
    agent_name = config.agent.name
    return {
        "customer.first_name": first_name(name), "customer.last_name": last_name(name),
        "customer.name": " ".join(name.split()) or None, "customer.email": email or None,
        "ticket.id": draft.ticket_ref or None,
        "ticket.subject": strip_prefixes(ticket.get("subject") or draft.subject) or None,
        "ticket.status": ticket.get("status") or None,
        "agent.name": agent_name or None, "agent.first_name": first_name(agent_name),
        "agent.email": config.agent.email or draft.agent or None, "agent.signature": config.agent.signature or None,
        "account.name": account.display_name or None, "account.email": account.email or None,
        "today": datetime.now(UTC).date().isoformat(),
    }  # fmt: skip


def apply_template(db: Database, draft: Draft, name: str, config: Config, account: Account) -> tuple[Draft, RenderResult]:
    """Put a rendered template into the draft's body (unfilled placeholders stay visible and
    are listed in the result, so the screen can point at each one)."""
    with db.write() as conn:
        template = get_template(conn, name)
    result = template.render(template_values(db, draft, config, account))
    return save_draft(db, draft, body=result.text, template=template.name), result
