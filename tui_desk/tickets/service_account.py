"""The account half of `DeskService`: setup, connection tests, sync and the outbox.

Everything here may wait on a server, so the screens call it only from worker threads. It
never raises for what a server does (refusal, timeout, bad certificate): those come back as
plain-word results the UI shows as they are, because a person setting up a mailbox needs to
read "the server refused the user name or password", not a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from tui_desk.config import (
    DEFAULT_PORTS,
    SECURITY_MODES,
    Account,
    Agent,
    Config,
    ConfigError,
    Paths,
    parse_since,
    save_config,
)
from tui_desk.mail.errors import MailError
from tui_desk.storage import outbox as outbox_rows
from tui_desk.storage import sync_state
from tui_desk.tickets.service_types import AccountSettings, AccountState, CheckResult, SyncNews

if TYPE_CHECKING:
    from tui_desk.storage.db import Database
    from tui_desk.tickets.sync import AccountSync, SyncReport

# The wire (imapclient, smtplib), the keyring and the outbox are imported where they are used:
# the first frame of the app needs none of them, and start-up time is measured (benchmarks/ui.py).

ProgressFn = Callable[[str, str, int, int], None]
"""(account, folder, done, total)"""

_KIND_WORDS = {
    "auth": "the server refused the user name or password",
    "offline": "the server could not be reached",
    "tls": "the secure connection failed",
    "protocol": "the server answered something unexpected",
}


def plain_failure(exc: MailError) -> str:
    """A mail failure in words a person can act on, with the server's own reason after it."""
    head = _KIND_WORDS.get(exc.kind, "it did not work")
    return f"{head}: {exc}"


def account_from(settings: AccountSettings) -> Account:
    """The `Account` a filled-in setup form means; raises ConfigError naming the bad field."""
    from tui_desk.config import Server

    if "@" not in settings.email.strip():
        raise ConfigError("the email address needs an @")
    if not settings.imap_host.strip():
        raise ConfigError("the IMAP server's host name is missing")
    for what, mode in (("IMAP", settings.imap_security), ("SMTP", settings.smtp_security)):
        if mode not in SECURITY_MODES:
            raise ConfigError(f"{what} security must be one of {', '.join(SECURITY_MODES)}")
    for what, port in (("IMAP", settings.imap_port), ("SMTP", settings.smtp_port)):
        if not 0 < port < 65536:
            raise ConfigError(f"the {what} port {port} is not a port number")
    ca = settings.ca_file.strip()
    imap = Server(settings.imap_host.strip(), settings.imap_port or DEFAULT_PORTS[("imap", settings.imap_security)],
                  settings.imap_security, ca_file=ca, timeout=settings.timeout)  # fmt: skip
    smtp = None
    if settings.smtp_host.strip():
        smtp = Server(settings.smtp_host.strip(), settings.smtp_port, settings.smtp_security, ca_file=ca,
                      timeout=settings.timeout)  # fmt: skip
    name = settings.name.strip() or "support"
    if "/" in name:
        raise ConfigError("the account name must not contain '/'")
    return Account(name=name, email=settings.email.strip(), username=settings.username.strip() or settings.email.strip(),
                   imap=imap, smtp=smtp, display_name=settings.agent_name.strip(),
                   password_command=settings.password_command.strip())  # fmt: skip


class AccountsMixin:
    """Mixed into `DeskService`, which provides these attributes."""

    db: Database
    config: Config
    paths: Paths | None
    _wakers: set[threading.Event]
    _wakers_lock: threading.Lock

    # -- state -------------------------------------------------------------------------------
    @property
    def accounts(self) -> tuple[Account, ...]:
        return self.config.accounts

    @property
    def has_account(self) -> bool:
        return bool(self.config.accounts)

    def account(self, name: str | None = None) -> Account:
        """The named account, or the first one (replies go out through it)."""
        if name:
            return self.config.account(name)
        if not self.config.accounts:
            raise ConfigError("no mail account is set up yet")
        return self.config.accounts[0]

    def account_states(self) -> list[AccountState]:
        """Each account's last known sync state, as stored by the last sync (any process)."""
        out = []
        with self.db.read() as conn:
            for acc in self.config.accounts:
                acc_id = sync_state.account_id(conn, acc.name)
                state = sync_state.account_status(conn, acc_id) if acc_id else None
                name, reason = state or ("never synced", "")
                out.append(AccountState(acc.name, acc.email, name, reason))
        return out

    def outbox_counts(self) -> dict[str, int]:
        with self.db.read() as conn:
            return outbox_rows.counts(conn)

    # -- setup -------------------------------------------------------------------------------
    def test_connection(self, settings: AccountSettings, password: str) -> list[CheckResult]:
        """Log in to IMAP and SMTP with these settings and say, per server, what worked."""
        from tui_desk.mail.imap import ImapSession
        from tui_desk.mail.smtp_check import check_smtp

        try:
            account = account_from(settings)
        except ConfigError as exc:
            return [CheckResult("settings", False, str(exc))]
        results: list[CheckResult] = []
        where = f"IMAP {account.imap.host}:{account.imap.port}"
        try:
            with ImapSession(account.imap, account.username, password) as session:
                sent = session.find_special("\\Sent")
            extra = f"; replies will be filed in {sent}" if sent else "; no Sent folder found"
            results.append(CheckResult(where, True, f"logged in as {account.username}{extra}"))
        except MailError as exc:
            results.append(CheckResult(where, False, plain_failure(exc)))
        if account.smtp is None:
            results.append(CheckResult("SMTP", False, "no SMTP server given: replies cannot be sent"))
        else:
            where = f"SMTP {account.smtp.host}:{account.smtp.port}"
            try:
                check_smtp(account.smtp, account.username, password)
                results.append(CheckResult(where, True, f"logged in as {account.username}; replies can be sent"))
            except MailError as exc:
                results.append(CheckResult(where, False, plain_failure(exc)))
        return results

    def save_account(self, settings: AccountSettings, password: str) -> str:
        """Store the account in the settings file and its password in the keyring (or rely on
        `password_command`). Raises ConfigError / CredentialError with what to do instead."""
        from tui_desk.credentials import CredentialError, set_password

        account = account_from(settings)
        if not account.password_command:
            if not password:
                raise CredentialError("type the password (or give a password command instead)")
            try:
                set_password(account.name, password)
            except CredentialError as exc:
                raise CredentialError(f"the password could not be stored: {exc}") from None
        agent = Agent(settings.agent_name.strip() or self.config.agent.name,
                      settings.agent_email.strip() or self.config.agent.email or account.email,
                      self.config.agent.signature)  # fmt: skip
        config = replace(self.config.with_account(account), agent=agent)
        if self.paths is not None:
            save_config(self.paths.config_file, config)
        self.config = config
        with self.db.write() as conn:
            sync_state.ensure_account(conn, account.name, account.email)
        where = self.paths.config_file if self.paths else "memory"
        return f"account {account.name} saved in {where}"

    @staticmethod
    def keyring_help() -> str:
        from tui_desk.credentials import NO_KEYRING_HELP

        return NO_KEYRING_HELP

    # -- sync ---------------------------------------------------------------------------------
    def _syncer(self, account: Account, password: str, on_progress: ProgressFn | None) -> AccountSync:
        from tui_desk.tickets import threading as ticket_threading
        from tui_desk.tickets.sync import AccountSync

        progress = None
        if on_progress is not None:
            def progress(folder: str, done: int, total: int) -> None:
                on_progress(account.name, folder, done, total)
        return AccountSync(self.db, account, password, since=parse_since(account.sync_since),
                           on_progress=progress, on_stored=ticket_threading.assign)  # fmt: skip

    def _news(self, report: SyncReport) -> SyncNews:
        return SyncNews(report.account, report.state, report.reason, report.new,
                        team=report.team.received if report.team else 0)  # fmt: skip

    def sync_once(self, name: str | None = None, on_progress: ProgressFn | None = None) -> list[SyncNews]:
        """One pass over one account (or all): fetch, thread, send what the outbox holds."""
        from tui_desk.credentials import CredentialError, get_password

        out = []
        for account in [self.account(name)] if name else list(self.config.accounts):
            try:
                password = get_password(account)
            except CredentialError as exc:
                out.append(SyncNews(account.name, "auth", str(exc)))
                continue
            syncer = self._syncer(account, password, on_progress)
            try:
                news = self._news(syncer.run_once())
            finally:
                syncer.close()
            out.append(self._with_outbox(news, account, password))
        return out

    def watch(self, name: str, stop: threading.Event, on_news: Callable[[SyncNews], None],
              on_progress: ProgressFn | None = None) -> None:  # fmt: skip
        """Keep one account in sync until `stop` is set (IDLE push, reconnects with backoff),
        reporting every pass; queued replies go out after each good pass."""
        from tui_desk.credentials import CredentialError, get_password

        account = self.account(name)
        try:
            password = get_password(account)
        except CredentialError as exc:
            on_news(SyncNews(account.name, "auth", str(exc)))
            return
        syncer = self._syncer(account, password, on_progress)
        wake = threading.Event()

        def on_report(report: SyncReport) -> None:
            on_news(self._with_outbox(self._news(report), account, password))

        with self._wakers_lock:
            self._wakers.add(wake)
        try:
            syncer.watch(stop, on_report, wake=wake)
        finally:
            with self._wakers_lock:
                self._wakers.discard(wake)
            syncer.close()

    def nudge(self) -> None:
        """A local change waits to be pushed (a composing mark, a status): wake the background
        syncs now instead of at their next poll, so colleagues get it within seconds. Without a
        background sync (the CLI, tests) the change goes out with the next sync, as before."""
        with self._wakers_lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake.set()

    def _with_outbox(self, news: SyncNews, account: Account, password: str) -> SyncNews:
        if news.state != "online" or account.smtp is None:
            return news
        counts = self.outbox_counts()
        if not counts.get("queued") and not counts.get("sending"):
            return news
        from tui_desk.tickets import outbox

        report = outbox.drain(self.db, account, password)
        if report.sent:
            self.nudge()  # the tickets' new status is a team event
        return replace(news, sent=len(report.sent), failed_sends=tuple(f"{why}" for _i, _k, why in report.failed))

    def deliver(self, name: str | None = None) -> SyncNews:
        """Send what the outbox holds for an account now (after the composer queued a reply)."""
        from tui_desk.credentials import CredentialError, get_password
        from tui_desk.tickets import outbox

        account = self.account(name)
        try:
            password = get_password(account)
        except CredentialError as exc:
            return SyncNews(account.name, "auth", str(exc))
        try:
            report = outbox.drain(self.db, account, password)
        except ConfigError as exc:
            return SyncNews(account.name, "error", str(exc))
        if report.sent:
            self.nudge()  # the tickets' new status is a team event
        return SyncNews(account.name, report.state, report.reason, 0, len(report.sent),
                        tuple(why for _i, _k, why in report.failed))  # fmt: skip
