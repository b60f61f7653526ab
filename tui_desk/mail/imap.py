"""An IMAP session for syncing: capabilities, folders, SELECT state, searches, flags, IDLE.

Built on imapclient for its careful response parsing. Bulk message bodies go through
`fastfetch` (a second, stdlib connection) because imapclient's per-response parsing costs more
than the network on a first sync. Every public method translates failures into `MailError`s.
"""

from __future__ import annotations

import contextlib
import imaplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import imapclient
import imapclient.exceptions as imx

from tui_desk.mail.connect import ServerSpec, set_nodelay, ssl_context, translate_errors
from tui_desk.mail.errors import AuthError, MailError, ProtocolError

UID_BATCH = 5000  # explicit UID lists stay well under Dovecot's 64 KB command line limit


@dataclass(frozen=True, slots=True)
class FolderInfo:
    name: str
    flags: tuple[str, ...]

    @property
    def special_use(self) -> str:
        for flag in self.flags:
            if flag in ("\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive", "\\All", "\\Flagged"):
                return flag
        return ""

    @property
    def selectable(self) -> bool:
        return "\\Noselect" not in self.flags and "\\NonExistent" not in self.flags


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """What SELECT told us; `highestmodseq` is None on servers without CONDSTORE."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None
    permanent_flags: tuple[str, ...]
    readonly: bool


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_NEWS = {b"EXISTS", b"EXPUNGE", b"FETCH", b"RECENT", b"VANISHED"}


def _is_news(response: object) -> bool:
    """Whether an untagged response (as imapclient parses it: `(3, b"EXISTS")`, `(b"OK",
    b"Still here")`, `(b"VANISHED", ...)`) says the mailbox changed. A keepalive or a status
    line is not news: a server that always says something on DONE must not cause a resync a
    second."""
    if not isinstance(response, tuple) or not response:
        return True  # not understood: a resync costs little, a missed mail costs a lot
    return any(isinstance(part, bytes) and part.upper() in _NEWS for part in response[:2])


def _chunks(uids: Sequence[int], size: int = UID_BATCH) -> Iterable[list[int]]:
    for start in range(0, len(uids), size):
        yield list(uids[start : start + size])


class ImapSession:
    """One logged-in IMAP connection. Use as a context manager, or call `logout()`."""

    def __init__(self, server: ServerSpec, username: str, password: str) -> None:
        self.server = server
        self.username = username
        self._password = password
        self.selected: str | None = None
        """The folder SELECTed or EXAMINEd last (None before any, or after a failed one)."""
        self.status_ok = True
        """False once the server refused a STATUS we asked: callers open folders instead."""
        with translate_errors(server, "connecting"):
            ctx = ssl_context(server)
            try:
                self.client = imapclient.IMAPClient(
                    server.host, port=server.port, ssl=server.security == "tls", ssl_context=ctx,
                    timeout=server.timeout,
                )  # fmt: skip
                set_nodelay(self.client.socket())
                if server.security == "starttls":
                    self.client.starttls(ctx)
                self.client.login(username, password)
            except imx.LoginError as exc:
                raise AuthError(
                    f"{server.host} refused the login for {username!r}: wrong user name or password "
                    f"({_text(exc)[:200]})"
                ) from exc
            except (imx.IMAPClientError, imaplib.IMAP4.error) as exc:
                raise ProtocolError(f"{server.host}:{server.port}: {_text(exc)[:300]}") from exc
            self.capabilities = {_text(c).upper() for c in self.client.capabilities()}
        self.condstore = "CONDSTORE" in self.capabilities or "QRESYNC" in self.capabilities
        self.idle_supported = "IDLE" in self.capabilities
        if self.condstore:
            # ENABLE must come before SELECT (imapclient quirk, RFC 5161); a server that
            # advertises CONDSTORE but refuses ENABLE is treated as not having it.
            try:
                self._call("enabling CONDSTORE", self.client.enable, "CONDSTORE")
            except MailError:
                self.condstore = False

    # -- plumbing -----------------------------------------------------------------------------
    def _call(self, what: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with translate_errors(self.server, what):
            try:
                return fn(*args, **kwargs)
            except (imx.IMAPClientAbortError, imaplib.IMAP4.abort) as exc:
                raise ConnectionError(str(exc)) from exc
            except (imx.IMAPClientError, imaplib.IMAP4.error) as exc:
                raise ProtocolError(f"{self.server.host} said no while {what}: {_text(exc)[:300]}") from exc

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.logout()

    def logout(self) -> None:
        try:
            self.client.logout()
        except Exception:  # closing a dead connection must never raise
            with contextlib.suppress(Exception):
                self.client.shutdown()

    # -- folders ------------------------------------------------------------------------------
    def list_folders(self) -> list[FolderInfo]:
        rows = self._call("listing folders", self.client.list_folders)
        return [FolderInfo(_text(name), tuple(_text(f) for f in flags)) for flags, _delim, name in rows]

    def delimiter(self) -> str:
        """The server's hierarchy separator ("/" on Dovecot's fs layout, "." on many others)."""
        rows = self._call("listing folders", self.client.list_folders, "", "INBOX")
        for _flags, delim, _name in rows:
            if delim:
                return _text(delim)
        return "/"

    def find_special(self, flag: str) -> str | None:
        for folder in self.list_folders():
            if folder.special_use == flag and folder.selectable:
                return folder.name
        return None

    def ensure_folder(self, name: str) -> None:
        if not self._call("checking folder", self.client.folder_exists, name):
            self._call(f"creating {name}", self.client.create_folder, name)
            with contextlib.suppress(Exception):  # subscribing is a courtesy to other clients
                self.client.subscribe_folder(name)

    def select(self, name: str, *, readonly: bool = True) -> FolderStatus:
        self.selected = None  # a failed SELECT leaves no mailbox selected (RFC 3501 6.3.1)
        info = self._call(f"opening {name}", self.client.select_folder, name, readonly=readonly)
        self.selected = name
        modseq = info.get(b"HIGHESTMODSEQ") if self.condstore else None
        return FolderStatus(
            uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
            uidnext=int(info.get(b"UIDNEXT", 0)),
            exists=int(info.get(b"EXISTS", 0)),
            highestmodseq=int(modseq) if modseq is not None else None,
            permanent_flags=tuple(_text(f) for f in info.get(b"PERMANENTFLAGS", ())),
            readonly=bool(info.get(b"READ-ONLY", [False])[0]) if isinstance(info.get(b"READ-ONLY"), list)
            else readonly,
        )  # fmt: skip

    def status(self, name: str) -> FolderStatus:
        """What SELECT would say of a folder's size and state, without opening it: STATUS
        MESSAGES UIDNEXT UIDVALIDITY (and HIGHESTMODSEQ with CONDSTORE). Opening a big mailbox
        makes the server read its whole index; STATUS reads a header. Not for the selected
        folder: RFC 3501 6.3.10 lets a server answer that one from stale state."""
        items = [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY"] + ([b"HIGHESTMODSEQ"] if self.condstore else [])
        try:
            info = self._call(f"checking {name}", self.client.folder_status, name, items)
        except ProtocolError:
            self.status_ok = False  # a server that refuses it (or an item of it) is not asked again
            raise
        modseq = info.get(b"HIGHESTMODSEQ")
        return FolderStatus(
            uidvalidity=int(info.get(b"UIDVALIDITY", 0)),
            uidnext=int(info.get(b"UIDNEXT", 0)),
            exists=int(info.get(b"MESSAGES", 0)),
            highestmodseq=int(modseq) if modseq is not None else None,
            permanent_flags=(),
            readonly=True,
        )

    # -- searching ----------------------------------------------------------------------------
    def search(self, criteria: list[object]) -> list[int]:
        return sorted(int(u) for u in self._call("searching", self.client.search, criteria))

    def all_uids(self) -> list[int]:
        return self.search(["ALL"])

    def uids_from(self, first_uid: int) -> list[int]:
        # "n:*" always matches the highest UID even when it is below n (RFC 3501 6.4.8): filter.
        return [u for u in self.search(["UID", f"{max(first_uid, 1)}:*"]) if u >= first_uid]

    def uids_since(self, day: datetime) -> list[int]:
        return self.search(["SINCE", day.date()])

    def uids_before(self, day: datetime) -> list[int]:
        """UIDs whose INTERNALDATE (when the server received them) is before that day."""
        return self.search(["BEFORE", day.date()])

    def changed_since(self, modseq: int) -> list[int]:
        """UIDs whose flags changed after `modseq` (RFC 7162 SEARCH MODSEQ): cost grows with the
        changes, not with the mailbox."""
        return self.search(["MODSEQ", str(modseq + 1)])

    # -- flags --------------------------------------------------------------------------------
    def fetch_flags(self, uids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, tuple[str, ...]] = {}
        for chunk in _chunks(uids):
            resp = self._call("reading flags", self.client.fetch, chunk, ["FLAGS"])
            for uid, data in resp.items():
                out[int(uid)] = tuple(_text(f) for f in data.get(b"FLAGS", ()))
        return out

    def fetch_ids(self, uids: Sequence[int]) -> dict[int, tuple[str, int]]:
        """(Message-ID, size) per UID: enough to re-map messages after a UIDVALIDITY change."""
        out: dict[int, tuple[str, int]] = {}
        key = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
        for chunk in _chunks(uids, 1000):
            resp = self._call("reading ids", self.client.fetch, chunk,
                              ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", "RFC822.SIZE"])  # fmt: skip
            for uid, data in resp.items():
                raw = data.get(key, b"") or b""
                value = raw.partition(b":")[2].strip().strip(b"<>").decode("ascii", "replace")
                out[int(uid)] = (value, int(data.get(b"RFC822.SIZE", 0)))
        return out

    def store_flags(self, uids: Sequence[int], add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        add, remove = list(add), list(remove)
        for chunk in _chunks(uids):
            if add:
                self._call("setting flags", self.client.add_flags, chunk, add, silent=True)
            if remove:
                self._call("clearing flags", self.client.remove_flags, chunk, remove, silent=True)

    def append(self, folder: str, raw: bytes, flags: Iterable[str] = (), when: datetime | None = None) -> None:
        self._call(f"saving to {folder}", self.client.append, folder, raw, flags=tuple(flags), msg_time=when)

    @property
    def uidplus(self) -> bool:
        return "UIDPLUS" in self.capabilities

    def expunge_uids(self, uids: Sequence[int]) -> bool:
        """Delete exactly these messages of the selected (read-write) folder: UID EXPUNGE
        (UIDPLUS, RFC 4315). Used only for our own event log compaction.

        Without UIDPLUS nothing is done and False is returned: a plain EXPUNGE would also remove
        whatever another client had marked \\Deleted. UIDs that are already gone (another agent
        deleted them first) are fine: STORE and UID EXPUNGE ignore them."""
        if not self.uidplus:
            return False
        for chunk in _chunks(uids):
            self.store_flags(chunk, add=["\\Deleted"])
            self._call("expunging", self.client.uid_expunge, chunk)
        return True

    # -- push ---------------------------------------------------------------------------------
    def idle_start(self) -> None:
        self._call("starting IDLE", self.client.idle)

    def idle_check(self, timeout: float) -> bool:
        """Wait in IDLE up to `timeout` seconds; True when the server pushed anything.

        A push is only a hint (imapclient may miss or garble pushed lines, mjs/imapclient#519):
        callers end IDLE and re-sync either way; a garbled line surfaces as OfflineError.
        """
        return bool(self._call("waiting in IDLE", self.client.idle_check, timeout=timeout))

    def idle_done(self) -> bool:
        """End IDLE; True when the server reported anything on the way out (it re-checks the
        mailbox before it answers DONE, so news it had not pushed yet arrives here)."""
        _text, responses = self._call("ending IDLE", self.client.idle_done)
        return any(_is_news(r) for r in responses)

    def noop(self) -> None:
        self._call("checking for news", self.client.noop)
