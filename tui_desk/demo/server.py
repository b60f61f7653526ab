"""A real IMAP + SMTP server inside the demo process, so `tui-desk demo` runs the same sync,
IDLE and send code as a real desk, with no account and no network.

IMAP is pymap's in-memory ("dict") backend on a background thread with its own event loop;
SMTP is an aiosmtpd `Controller` (its own thread and loop) whose `handle_DATA` files mail for
the support address into the pymap INBOX, and records everything else as "delivered to the
customer". About one reply in five makes the customer write back a few seconds later, so the
demo shows a ticket reopening by itself. Both listen on 127.0.0.1 only, without TLS; the login
is a per-run random password, so other local users cannot read or inject demo mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
import threading
from argparse import Namespace
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import DictBackend
from pymap.backend.dict.mailbox import MailboxSet
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer
from pymap.parsing.message import AppendMessage
from pymap.parsing.specials.flag import Flag
from pysasl.hashing import BuiltinHash

HOST = "127.0.0.1"
SUPPORT_ADDRESS = "support@example.test"
START_TIMEOUT = 10.0

# What a customer writes back to our reply: some still stuck, some happy (both reopen the ticket).
_FOLLOWUPS = {
    "en": ("Thanks for the quick answer, but it still does not work for me.",
           "Thank you, that solved it! One more question: can I get the invoice as PDF?"),
    "sl": ("Hvala za hiter odgovor, ampak pri meni še vedno ne deluje.",
           "Hvala, zdaj deluje! Še eno vprašanje: ali lahko dobim račun v PDF?"),
    "hr": ("Hvala na brzom odgovoru, ali kod mene i dalje ne radi.",
           "Hvala, sad radi! Još jedno pitanje: mogu li dobiti račun u PDF-u?"),
    "ru": ("Спасибо за быстрый ответ, но у меня всё ещё не работает.",
           "Спасибо, заработало! Ещё вопрос: можно получить счёт в PDF?"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the demo server listens and how to log in (IMAP and SMTP share the login)."""

    host: str
    imap_port: int
    smtp_port: int
    username: str
    password: str
    address: str = SUPPORT_ADDRESS


@dataclass(frozen=True, slots=True)
class DeliveredMail:
    """A message the demo "sent to a customer": kept in memory, since there is no customer."""

    mail_from: str
    rcpts: tuple[str, ...]
    raw: bytes
    at: datetime


def free_port(host: str = HOST) -> int:
    """A port nobody listens on right now (for servers that only take a port number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listening_socket(host: str) -> socket.socket:
    """Bound and listening before pymap gets it: no window in which another process could take
    the port between choosing it and binding it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(64)
    sock.setblocking(False)
    return sock


@dataclass(slots=True)
class _SmtpHandler:
    """aiosmtpd hooks: require the demo login, then hand each accepted message to the server."""

    owner: DemoMailServer
    logins: set[tuple[bytes, bytes]] = field(default_factory=set)

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) in self.logins
        return AuthResult(success=ok, handled=False)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:  # fmt: skip
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""  # the bytes as sent (decode_data is off)
        # Answer 250 only once the copy is in the mailbox, as a real server's queue would.
        await asyncio.wrap_future(self.owner.accept(envelope.mail_from or "", list(envelope.rcpt_tos), raw))
        return "250 OK: delivered"


class DemoMailServer:
    """pymap (IMAP) + aiosmtpd (SMTP) on loopback. `start()` -> Endpoints; `stop()` ends both
    threads. Also a context manager."""

    def __init__(self, *, address: str = SUPPORT_ADDRESS, username: str = "", password: str = "",
                 followup_rate: float = 0.2, followup_delay: float = 5.0, seed: int = 7) -> None:  # fmt: skip
        self.address = address.lower()
        self.username = username or self.address
        self.password = password or secrets.token_urlsafe(18)
        self.followup_rate = followup_rate
        self.followup_delay = followup_delay
        self.delivered: list[DeliveredMail] = []
        self.languages: dict[str, str] = {}
        """Customer address -> "en" / "sl" / "hr" / "ru", for the language of their follow-ups."""
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._imap: asyncio.AbstractServer | None = None
        self._stack = contextlib.AsyncExitStack()
        self._mailboxes: MailboxSet | None = None
        self._smtp: Controller | None = None
        self.endpoints: Endpoints | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> Endpoints:
        if self.endpoints is not None:
            return self.endpoints
        for name in ("mail.log", "pymap"):  # protocol chatter is not the demo user's business
            logging.getLogger(name).setLevel(logging.ERROR)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-imap", daemon=True)
        self._thread.start()
        try:
            imap_port = self._call(self._start_imap()).result(START_TIMEOUT)
            smtp_port = self._start_smtp()
        except BaseException:
            self.stop()
            raise
        self.endpoints = Endpoints(HOST, imap_port, smtp_port, self.username, self.password, self.address)
        return self.endpoints

    async def _start_imap(self) -> int:
        args = Namespace(host=HOST, port=0, debug=False, cert=None, key=None, tls=False, passlib_cfg=None,
                         proxy_protocol=None, inherited_sockets=None, demo_data=False,
                         demo_user=self.username, demo_password=self.password)  # fmt: skip
        # Password checks inline on the loop (no worker pool to leave behind) and cheap: pysasl's
        # default of 500,000 PBKDF2 rounds costs 0.2 s per login, and the sync logs in several times
        # per pass; the password is random, per run, and only in memory. No DNSBL lookups.
        backend, config = await DictBackend.init(args, invalid_user_sleep=0.0, reject_dnsbl=False,
                                                 cpu_subsystem=Subsystem.for_asyncio(),
                                                 hash_context=BuiltinHash(rounds=1000))  # fmt: skip
        session = await self._stack.enter_async_context(backend.login.demo_user_identity.new_session())
        self._mailboxes = session.mailbox_set
        for name in ("Sent", "Drafts", "Trash"):
            await self._mailboxes.add_mailbox(name)
        sock = _listening_socket(HOST)
        callback = ProxyProtocolReader(config.proxy_protocol).get_callback(IMAPServer(backend.login, config))
        self._imap = await asyncio.start_server(callback, sock=sock)
        return int(sock.getsockname()[1])

    def _start_smtp(self) -> int:
        handler = _SmtpHandler(self, {(self.username.encode(), self.password.encode())})
        last: OSError | None = None
        for _ in range(5):  # the port is free when picked; retry in the rare case it was taken since
            controller = Controller(handler, hostname=HOST, port=free_port(), server_hostname="demo.example.test",
                                    authenticator=handler.authenticate, auth_require_tls=False,
                                    ready_timeout=START_TIMEOUT)  # fmt: skip
            try:
                controller.start()
            except OSError as exc:
                last = exc
                continue
            self._smtp = controller
            return int(controller.port)
        raise OSError(f"the demo SMTP server found no free port: {last}")

    def stop(self) -> None:
        """Stop SMTP, then IMAP (closing client connections and pending follow-ups); joins both
        threads, so nothing of the server outlives this call."""
        if self._smtp is not None:
            with contextlib.suppress(Exception):
                self._smtp.stop()
            self._smtp = None
        loop, self._loop = self._loop, None
        if loop is not None and self._thread is not None:
            if loop.is_running():
                with contextlib.suppress(Exception):
                    asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(START_TIMEOUT)
                loop.call_soon_threadsafe(loop.stop)
            self._thread.join(START_TIMEOUT)
            loop.close()
        self._thread = None
        self.endpoints = None

    async def _shutdown(self) -> None:
        if self._imap is not None:
            self._imap.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._imap is not None:
            await self._imap.wait_closed()
            self._imap = None
        with contextlib.suppress(Exception):
            await self._stack.aclose()
        await asyncio.get_running_loop().shutdown_default_executor()

    def __enter__(self) -> DemoMailServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- mail ---------------------------------------------------------------------------------
    def _call(self, coro: Any) -> Future[Any]:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the demo mail server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _append(self, items: Iterable[tuple[str, bytes, datetime | None, Iterable[str]]],
                      recent: bool) -> int:  # fmt: skip
        assert self._mailboxes is not None
        count = 0
        for folder, raw, when, flags in items:
            mailbox = await self._mailboxes.get_mailbox(folder)
            flag_set = frozenset(Flag(f.encode()) for f in flags)
            await mailbox.append(AppendMessage(raw, when or datetime.now(UTC), flag_set), recent=recent)
            count += 1
        return count

    def seed(self, items: Iterable[tuple[str, bytes, datetime | None, Iterable[str]]]) -> int:
        """File (folder, raw, internal date, flags) messages straight into the backend (no
        protocol round trips: about 0.13 s per 1,000). Returns how many."""
        return int(self._call(self._append(list(items), recent=False)).result(60))

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """New mail arriving now (IDLE clients are told)."""
        self._call(self._append([(folder, raw, datetime.now(UTC), ())], recent=True)).result(START_TIMEOUT)

    def know_customers(self, languages: Mapping[str, str]) -> None:
        self.languages.update({addr.lower(): lang for addr, lang in languages.items()})

    def accept(self, mail_from: str, rcpts: list[str], raw: bytes) -> Future[Any]:
        """What the SMTP side does with a message: ours into INBOX, the rest "to the customer"."""
        ours = [r for r in rcpts if r.lower() == self.address]
        theirs = tuple(r for r in rcpts if r.lower() != self.address)
        if theirs:
            with self._lock:
                self.delivered.append(DeliveredMail(mail_from, theirs, raw, datetime.now(UTC)))
                answer = self._rng.random() < self.followup_rate
            if answer:
                self._call(self._follow_up_later(raw))
        items = [("INBOX", raw, datetime.now(UTC), ())] if ours else []
        return self._call(self._append(items, recent=True))

    async def _follow_up_later(self, reply: bytes) -> None:
        await asyncio.sleep(self.followup_delay)
        raw = self.customer_follow_up(reply)
        if raw is not None:
            await self._append([("INBOX", raw, datetime.now(UTC), ())], recent=True)

    def customer_follow_up(self, reply: bytes) -> bytes | None:
        """The customer's answer to our `reply` (threaded by In-Reply-To/References), in their
        language; None for automatic replies (those get no answer) or a reply without a To."""
        msg = BytesParser(policy=policy.default).parsebytes(reply)
        if str(msg.get("Auto-Submitted", "no")).lower() != "no":
            return None
        name, addr = parseaddr(str(msg.get("To", "")))
        if "@" not in addr:
            return None
        lang = self.languages.get(addr.lower(), "en")
        with self._lock:
            text = self._rng.choice(_FOLLOWUPS[lang])
        subject = str(msg.get("Subject", ""))
        mid = str(msg.get("Message-ID", "")).strip()
        out = EmailMessage()
        out["From"] = f"{name} <{addr}>" if name else addr
        out["To"] = self.address
        out["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        out["Date"] = format_datetime(datetime.now(UTC))
        out["Message-ID"] = make_msgid(domain=addr.rsplit("@", 1)[1])
        if mid:
            out["In-Reply-To"] = mid
            out["References"] = " ".join(filter(None, [str(msg.get("References", "")).strip(), mid]))
        first = (name.split() or [""])[0]
        out.set_content(f"{text}\n\n{first}\n", charset="utf-8")
        return out.as_bytes()
