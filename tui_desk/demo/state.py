"""The demo desk's team state: statuses, priorities, tags, assignees, notes and saved views.

Applied through the real workflow API (every change an event, folded like a colleague's), so
the demo's audit trail, views and counts behave exactly as on a real desk. Deterministic: the
same seed gives the same desk, and the choices depend on the ticket's age and topic, so old
tickets are the solved and closed ones and a refund mail carries the refund tag.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tui_desk.demo.spam import SPAM_DOMAINS
from tui_desk.storage.db import Database
from tui_desk.tickets import desk, query, workflow
from tui_desk.tickets.workflow import Change

AGENT_NAME = "Demo Agent"
AGENT_EMAIL = "agent@example.test"
COLLEAGUES = ("maja.horvat@example.test", "ivan.petrov@example.test")

# Words in a subject (any of the four languages, lower-cased) -> topic tag.
_TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("refund", ("refund", "vračilo", "povrat", "возврат")),
    ("billing", ("invoice", "račun", "счёт", "счет")),
    ("login", ("log in", "prijav", "войти")),
    ("shipping", ("delivery", "dostav", "isporuk", "доставк")),
    ("pricing", ("pricing", "cen", "cijen", "цен")),
)
_COMPANY_DOMAINS = frozenset({"acme.com", "northwind.co.uk", "podjetje.si", "tvrtka.hr", "kompaniya.ru"})
NOTES: dict[str, dict[str, str]] = {
    "en": {"refund": "Checked with the payment provider: the second charge is being reversed.",
           "billing": "Asked accounting to reissue the invoice with the right VAT number.",
           "login": "Reset mails bounce at their server; suggested another address.",
           "shipping": "Asked the courier for the parcel's status; they answer within a day.",
           "pricing": "Sales can offer 15 % off for twelve seats, confirmed with Maja.",
           "": "Customer called as well; waiting for the logs they promised."},
    "sl": {"refund": "Preveril pri ponudniku plačil: drugi znesek bo vrnjen v treh dneh.",
           "billing": "Računovodstvo bo izdalo nov račun s pravilno davčno številko.",
           "login": "Sporočila za ponastavitev zavrača njihov strežnik; predlagal drug naslov.",
           "shipping": "Kurirja sem vprašal za status paketa; odgovor do jutri.",
           "pricing": "Prodaja lahko ponudi 15 % popusta za dvanajst uporabnikov.",
           "": "Stranka je tudi poklicala; čakamo na dnevnike, ki jih je obljubila."},
    "hr": {"refund": "Provjerio kod pružatelja plaćanja: drugo terećenje se poništava.",
           "billing": "Računovodstvo će izdati novi račun s ispravnim OIB-om.",
           "login": "Njihov poslužitelj odbija poruke za promjenu lozinke; predložio drugu adresu.",
           "shipping": "Pitao sam dostavnu službu za status paketa; odgovor do sutra.",
           "pricing": "Prodaja može ponuditi 15 % popusta za dvanaest korisnika.",
           "": "Klijent je i nazvao; čekamo zapise koje je obećao poslati."},
    "ru": {"refund": "Проверил у платёжного провайдера: второй платёж будет возвращён.",
           "billing": "Бухгалтерия перевыставит счёт с правильным ИНН.",
           "login": "Их сервер отклоняет письма сброса пароля; предложил другой адрес.",
           "shipping": "Запросил у курьерской службы статус посылки, ответят завтра.",
           "pricing": "Отдел продаж может дать скидку 15 % на двенадцать мест.",
           "": "Клиент также звонил; ждём обещанные логи."},
}  # fmt: skip
VIEWS: tuple[tuple[str, str], ...] = (
    ("Refunds", "tag:refund -status:solved,closed"),
    ("Urgent", "priority:>=high -status:solved,closed"),
    ("VIP", "tag:vip -status:closed"),
    ("Slovenia & Croatia", "from:@siol.net,@podjetje.si,@telekom.si,@t-com.hr,@tvrtka.hr,@net.hr"),
    ("Russian customers", "from:@mail.ru,@yandex.ru,@kompaniya.ru"),
    ("Maja's queue", f"assignee:{COLLEAGUES[0]} -status:solved,closed"),
)


@dataclass(slots=True)
class StateReport:
    tickets: int = 0
    changed: int = 0
    notes: int = 0


def topic(subject: str) -> str:
    """The topic tag a subject suggests, or "" when none does."""
    text = subject.lower()
    for tag, words in _TOPICS:
        if any(w in text for w in words):
            return tag
    return ""


def _status(rng: random.Random, age: float) -> str:
    """Oldest tickets (age 0) are mostly closed or solved, the newest mostly still new."""
    if age < 0.25:
        return rng.choices(("closed", "solved"), (6, 4))[0]
    if age < 0.5:
        return rng.choices(("solved", "pending", "open", "on-hold"), (35, 30, 20, 15))[0]
    if age < 0.85:
        return rng.choices(("open", "pending", "on-hold", "solved"), (40, 30, 10, 20))[0]
    return rng.choices(("new", "open"), (85, 15))[0]


def _plan(rng: random.Random, ticket: dict[str, Any], age: float, lang: str) -> tuple[str, list[Change]]:
    """(who makes the changes, the changes) for one ticket."""
    status = _status(rng, age)
    subject = str(ticket["subject"] or "")
    domain = str((ticket["requester"] or {}).get("address", "")).rpartition("@")[2]
    tag = topic(subject)
    changes: list[Change] = []
    tags = [tag] if tag else []
    if domain in _COMPANY_DOMAINS and rng.random() < 0.4:
        tags.append("vip")
    if domain in SPAM_DOMAINS:  # junk: tagged and closed, the newest left for the agent to find
        tags, status = ["spam"], "new" if age >= 0.85 else "closed"
    priority = rng.choices(("low", "normal", "high", "urgent"), (15, 60, 18, 7))[0]
    if "vip" in tags and priority in ("low", "normal"):
        priority = "high"
    if "spam" in tags:
        priority = "low"
    actor = AGENT_EMAIL
    if status != "new" and "spam" not in tags:
        assignee = rng.choices((AGENT_EMAIL, *COLLEAGUES, ""), (50, 25, 20, 5))[0]
        if assignee:
            changes.append(Change("assignee", "set", assignee))
            actor = assignee
    changes.extend(Change("tag", "add", t) for t in tags)
    if priority != "normal":
        changes.append(Change("priority", "set", priority))
    if status != "new" and "spam" not in tags and rng.random() < 0.35:
        changes.append(Change("note", "add", NOTES.get(lang, NOTES["en"])[tag]))
    if status != "new":
        changes.append(Change("status", "set", status))
    return actor, changes


def _when(rng: random.Random, ticket: dict[str, Any], now: datetime) -> datetime:
    """When the demo's agents acted on a ticket: a while after its last mail, never in the future,
    so the list's "updated" column and the audit trail read like a real desk's history."""
    last = datetime.fromisoformat(ticket["updated"]) if ticket.get("updated") else now
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return min(now - timedelta(minutes=1), last + timedelta(minutes=rng.randint(4, 300)))


def _all_tickets(db: Database) -> list[dict[str, Any]]:
    """Every ticket as `query.page` shows it, oldest first."""
    rows: list[dict[str, Any]] = []
    after: str | None = None
    with db.read() as conn:
        while True:
            page = query.page(conn, "sort:-created", after=after, limit=500)
            rows.extend(page.rows)
            if page.next_cursor is None:
                return rows
            after = page.next_cursor


def apply_demo_state(db: Database, languages: Mapping[str, str], *, seed: int = 7) -> StateReport:
    """Give every ticket a plausible state. `languages` maps a customer's address to the language
    they write in (notes are written in it). Returns what was done."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    tickets = _all_tickets(db)
    report = StateReport(tickets=len(tickets))
    with db.write() as conn:
        for index, ticket in enumerate(tickets):
            age = index / max(1, len(tickets) - 1)
            address = str((ticket["requester"] or {}).get("address", "")).lower()
            actor, changes = _plan(rng, ticket, age, languages.get(address, "en"))
            if changes:
                workflow.change(conn, str(ticket["id"]), actor, changes, at=_when(rng, ticket, now))
                report.changed += 1
                report.notes += sum(c.field == "note" for c in changes)
            if any(c.field == "status" for c in changes):
                workflow.mark_read(conn, str(ticket["id"]))
        for name, text in VIEWS:
            desk.save_view(conn, name, text)
    return report


def view_counts(db: Database, agent: str = AGENT_EMAIL) -> dict[str, int]:
    """Every saved view (built-in and demo) with how many tickets it shows."""
    with db.read() as conn:
        return {v["name"]: query.count(conn, v["query"], agent=agent) for v in desk.views(conn)}
