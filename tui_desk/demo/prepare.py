"""Everything `tui-desk demo` needs before the app starts: a throwaway data directory, the
in-process mail server filled with generated mail, settings pointing at it, a first sync with
the real `AccountSync`, and a lived-in desk (statuses, tags, notes, views).

The server's password is made up per run and never written down: `prepare_demo` uses it for
the first sync directly, and the caller lends it to everything else in the process with
`credentials.passwords_in_memory({DEMO_ACCOUNT: server.password})` (see commands/demo.py).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tui_desk.config import Account, Agent, Config, Paths, Server, save_config
from tui_desk.demo import mailgen
from tui_desk.demo.server import DemoMailServer, Endpoints
from tui_desk.demo.spam import spam_mails
from tui_desk.demo.state import AGENT_EMAIL, AGENT_NAME, StateReport, apply_demo_state
from tui_desk.storage.db import Database
from tui_desk.tickets import desk
from tui_desk.tickets.bodies import index_bodies
from tui_desk.tickets.sync import AccountSync

DEMO_ACCOUNT = "demo"
MESSAGES = 600
"""About 600 generated messages make about 400 conversations (a third continue one)."""
SPAM = 8
SEED = 7
SIGNATURE = "Demo Agent\nExample Support | support@example.test"
MARKER = ".tui-desk-demo"
"""Marks a directory as a demo's, so a later demo may clear it and nothing else ever is."""


class DemoError(RuntimeError):
    """The demo could not be set up (its first sync failed); the text says why."""


@dataclass(slots=True)
class PrepareReport:
    """What `prepare_demo` did and how long each step took (seconds)."""

    messages: int = 0
    state: StateReport = field(default_factory=StateReport)
    timings: dict[str, float] = field(default_factory=dict)


def demo_config(endpoints: Endpoints) -> Config:
    """Settings for one account on the in-process server: loopback, no TLS, Sent named
    explicitly (pymap has no SPECIAL-USE, so it could not be found by flag)."""
    imap = Server(endpoints.host, endpoints.imap_port, "none", timeout=10.0)
    smtp = Server(endpoints.host, endpoints.smtp_port, "none", timeout=10.0)
    account = Account(
        name=DEMO_ACCOUNT, email=endpoints.address, username=endpoints.username, imap=imap, smtp=smtp,
        display_name="Example Support", folders=("INBOX",), sent_folder="Sent",
    )  # fmt: skip
    return Config(
        agent=Agent(AGENT_NAME, AGENT_EMAIL, SIGNATURE), accounts=(account,), reply_status="pending"
    )


def seed_mailbox(server: DemoMailServer, *, messages: int = MESSAGES, seed: int = SEED,
                 now: datetime | None = None) -> dict[str, str]:  # fmt: skip
    """File generated mail into the server: customers' mail and a little junk in INBOX (read
    when older than a day), our own replies in Sent (read). Returns customer address -> language."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    mails = list(mailgen.generate(messages, seed=seed, start=now))
    if mails and mails[-1].date > now:  # the generator's spread overshot: no mail from the future
        mails = list(
            mailgen.generate(messages, seed=seed, start=now - (mails[-1].date - now) - timedelta(minutes=5))
        )
    items = []
    languages: dict[str, str] = {}
    for mail in mails:
        ours = mail.kind == "agent-reply"
        if not ours:
            languages.setdefault(mail.from_addr.lower(), mail.lang)
        read = ours or (now - mail.date).total_seconds() > 86400
        items.append(("Sent" if ours else "INBOX", mail.raw, mail.date, ("\\Seen",) if read else ()))
    if mails:
        for raw, when in spam_mails(SPAM, seed=seed, start=mails[0].date, end=mails[-1].date):
            items.append(("INBOX", raw, when, ("\\Seen",) if (now - when).total_seconds() > 86400 else ()))
    server.seed(items)
    server.know_customers(languages)
    return languages


def prepare_demo(data_dir: str | Path | None = None, *, server: DemoMailServer | None = None,
                 messages: int = MESSAGES, seed: int = SEED,
                 report: PrepareReport | None = None) -> tuple[Paths, Config, DemoMailServer]:  # fmt: skip
    """Start (or use) the demo server, fill it, and build a desk in `data_dir` (a new temporary
    directory when None). The caller owns the running server: stop it when done."""
    report = report if report is not None else PrepareReport()
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.timings[name] = now - clock
        clock = now

    folder = claim_dir(Path(data_dir)) if data_dir else Path(tempfile.mkdtemp(prefix="tui-desk-demo-"))
    (folder / MARKER).write_text("made by `tui-desk demo`; safe to delete\n", encoding="utf-8")
    paths = Paths(folder, folder / "config.toml")
    server = server or DemoMailServer(seed=seed)
    try:
        endpoints = server.start()
        lap("server")
        languages = seed_mailbox(server, messages=messages, seed=seed)
        report.messages = messages
        lap("seed")
        config = demo_config(endpoints)
        save_config(paths.config_file, config)
        db = Database.in_dir(paths.data_dir)
        try:
            _first_sync(db, config.accounts[0], endpoints.password)
            lap("sync")
            index_bodies(db)
            desk.open_desk(db)
            lap("bodies")
            report.state = apply_demo_state(db, languages, seed=seed)
            lap("state")
        finally:
            db.close()
    except BaseException:
        server.stop()
        if not data_dir:  # our own temporary directory: leave nothing behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return paths, config, server


def claim_dir(folder: Path) -> Path:
    """`folder` ready for a new demo: created, or empty, or an earlier demo's (cleared). A
    directory holding anything else (a real desk!) is refused, never written into."""
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder} is a file, not a directory")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise DemoError(f"{folder} is not empty and not an earlier demo's directory; "
                            "give a new or empty directory")  # fmt: skip
        clear_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clear_dir(folder: Path) -> None:
    """Remove what a demo put in `folder` (only if it is marked as a demo's), keeping the folder."""
    if not (folder / MARKER).exists():
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _first_sync(db: Database, account: Account, password: str) -> None:
    sync = AccountSync(db, account, password)
    try:
        result = sync.run_once()
    finally:
        sync.close()
    if not result.ok:
        raise DemoError(f"the demo's first sync failed: {result.line()}")
