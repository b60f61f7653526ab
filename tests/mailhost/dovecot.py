"""A private Dovecot 2.3 instance (IMAP, IMAPS, LMTP) for tests, started and stopped from Python.

Why a real Dovecot: the sync code must meet a real server's CONDSTORE/QRESYNC, special-use folders, TLS and
outages; a fake would only confirm our own assumptions. Everything lives in one short temp dir under /tmp
(unix socket paths are limited to 108 bytes), and the instance runs in its own process group so it can be
stopped completely without touching any other process.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import re
import secrets
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from imapclient import IMAPClient

from .dovecot_conf import SPECIAL_FOLDERS, find_binaries, mail_identity, render_config
from .maildir import SeedMessage, ensure_maildir, folder_path, write_messages
from .net import free_ports, wait_for_greeting
from .procs import group_members, pids_with_cmdline
from .tlsca import TlsFiles

__all__ = ["DovecotServer", "MailUser", "live_instances"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_live: set[DovecotServer] = set()  # started, not yet stopped (strong refs: atexit must reach them)


class MailUser(NamedTuple):
    """A Dovecot user: ``name`` logs in to IMAP and SMTP; ``address`` receives mail through the SMTP server."""

    name: str
    password: str
    address: str


class DovecotServer:
    """One Dovecot instance on 127.0.0.1: plain IMAP (STARTTLS offered, plaintext LOGIN allowed), implicit-TLS
    IMAPS, and LMTP on a unix socket. Users live in one passwd-file each (plain passwords), so :meth:`add_user`
    works at once while the server runs.

    Ports are chosen once in ``__init__`` and kept by :meth:`restart`, so a test can stop the server to simulate
    an outage and bring it back where the client expects it.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        tls: TlsFiles,
        *,
        users: dict[str, str] | None = None,
        capabilities: str | None = None,
        domain: str = "example.test",
    ) -> None:
        self.binaries = find_binaries()
        self.ident = mail_identity()
        self.domain = domain
        self.capabilities = capabilities
        self.tls = tls
        # Short (<108-byte sockets) and unique; the basename doubles as instance_name, which Dovecot puts in
        # every process title, so `pgrep -f <instance_name>` finds all of this instance's processes.
        self.root = Path(tempfile.mkdtemp(prefix="td", dir="/tmp"))
        self.root.chmod(0o755)  # mail processes run as 65534 and must traverse to their homes
        self.instance_name = self.root.name
        self.base_dir = self.root / "run"
        self.home_root = self.root / "home"
        self.home_root.mkdir(mode=0o755)
        self.passwd_dir = self.root / "passwd.d"
        self.passwd_dir.mkdir(mode=0o755)
        self.conf_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.stderr_path = self.root / "dovecot.stderr"
        self.lmtp_socket = self.base_dir / "lmtp"
        self.imap_port, self.imaps_port = free_ports(2, self.host)
        cert_file = shutil.copy(tls.cert_file, self.root / "server.pem")
        key_file = shutil.copy(tls.key_file, self.root / "server.key")
        self.ca_file = Path(shutil.copy(tls.ca_file, self.root / "ca.pem"))
        self.users: dict[str, str] = {}
        for name, password in (users or {}).items():
            self.add_user(name, password)
        self.conf_path.write_text(
            render_config(
                root=self.root,
                base_dir=self.base_dir,
                instance_name=self.instance_name,
                host=self.host,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
                cert_file=Path(cert_file),
                key_file=Path(key_file),
                passwd_dir=self.passwd_dir,
                ident=self.ident,
                domain=domain,
                capabilities=capabilities,
            )
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._last_pgid: int | None = None

    # ----------------------------------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 10.0) -> None:
        """Start ``dovecot -F`` in a new session and return once IMAP greets with ``* OK``."""
        if self.running:
            return
        with open(self.stderr_path, "ab") as err:
            self._proc = subprocess.Popen(
                [self.binaries.dovecot, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,
            )
        _live.add(self)
        try:
            wait_for_greeting(self.host, self.imap_port, b"* OK", timeout, abort_if=self._exit_reason)
        except TimeoutError as exc:
            self.stop()
            raise RuntimeError(f"Dovecot did not start: {exc}\n{self.log_tail()}") from exc

    def _exit_reason(self) -> str | None:
        code = self._proc.poll() if self._proc else None
        return None if code is None else f"dovecot exited with status {code}"

    def stop(self, grace: float = 0.25, *, kill: bool = False) -> None:
        """Stop every process of this instance: SIGTERM to its process group, SIGKILL to what is left after
        ``grace`` seconds. ``kill=True`` sends SIGKILL at once (a crash, not a shutdown).

        Why the group and not the master: Dovecot's children keep running for a while when only the master is
        signalled, and an outage test needs the ports closed now. Why the short grace: with the whole group
        signalled the children are gone in ~10 ms, but the master then sometimes sleeps a full second before
        exiting; killing it then loses nothing. Only the group this object started is signalled.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pgid = proc.pid  # leader of its own session/group (start_new_session=True)
        steps = [(signal.SIGKILL, 5.0)] if kill else [(signal.SIGTERM, grace), (signal.SIGKILL, 5.0)]
        for sig, wait in steps:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while (proc.poll() is None or group_members(pgid)) and time.monotonic() < deadline:
                time.sleep(0.005)
            if proc.poll() is not None and not group_members(pgid):
                break
        _live.discard(self)
        self._last_pgid = pgid
        # After SIGKILL the pid file stays; were its pid reused, the next start would refuse to run.
        (self.base_dir / "master.pid").unlink(missing_ok=True)

    def restart(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        """Stop (see :meth:`stop`) and start again on the same ports (Dovecot binds with SO_REUSEADDR, so
        connections left in TIME_WAIT are no obstacle)."""
        self.stop(kill=kill)
        self.start(timeout)

    def leftover_pids(self) -> list[int]:
        """PIDs of this instance still alive: members of its last process group, or any process whose title or
        command line names this instance. Meant for after :meth:`stop` (while running it lists the server)."""
        found = set(group_members(self._last_pgid)) if self._last_pgid else set()
        return sorted(found | set(pids_with_cmdline(self.instance_name)))

    def close(self) -> None:
        """Stop the server and delete its directory. Raises if any of its processes survived."""
        self.stop()
        left = self.leftover_pids()
        shutil.rmtree(self.root, ignore_errors=True)
        if left:
            raise RuntimeError(f"Dovecot instance {self.instance_name} left processes behind: {left}")

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- users
    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        """Add a user (random ``u<hex>`` name and password by default) with an empty mailbox whose INBOX and
        special-use folders exist. Works at once while running (one passwd-file per user, read on first use)."""
        name = name or f"u{secrets.token_hex(5)}"
        password = password or secrets.token_urlsafe(9)
        if not _NAME_RE.match(name) or name in self.users:
            raise ValueError(f"bad or duplicate user name {name!r}")
        if any(c in password for c in ":\n\r"):
            raise ValueError("password must not contain ':' or line breaks (passwd-file format)")
        home = self.home_root / name
        home.mkdir(mode=0o700)
        if self.ident.is_root:
            os.chown(home, self.ident.mail_uid, self.ident.mail_gid)
        uid, gid = self.ident.mail_uid, self.ident.mail_gid
        # Create INBOX and the special-use folders now: if seeding or delivering into e.g. "Archive/2024" made
        # the "Archive" directory first, Dovecot would keep listing Archive as \Noselect.
        owner = (uid, gid) if self.ident.is_root else (None, None)
        for folder in ("INBOX", *SPECIAL_FOLDERS):
            ensure_maildir(folder_path(home / "Maildir", folder), *owner)
        tmp = self.passwd_dir / f".{name}.tmp"
        tmp.write_text(f"{name}:{{PLAIN}}{password}:{uid}:{gid}::{home}::\n")
        tmp.rename(self.passwd_dir / name)
        self.users[name] = password
        return MailUser(name, password, self.address(name))

    def address(self, user: str) -> str:
        return f"{user}@{self.domain}"

    # ----------------------------------------------------------------------------------------- mail in
    def deliver(self, user: str, raw: bytes, folder: str = "INBOX", sender: str = "") -> None:
        """Deliver ``raw`` to ``user``'s ``folder`` the way an MTA would (arrival time = now, \\Recent).

        INBOX goes through LMTP (fast, one transaction per recipient); another folder goes through
        ``dovecot-lda -m FOLDER`` (about 20 ms a message), which creates the folder if missing. Raises
        smtplib errors / RuntimeError with the Dovecot log on failure (dovecot-lda's stderr is empty).
        """
        if folder.upper() == "INBOX":
            with smtplib.LMTP(str(self.lmtp_socket), local_hostname="localhost") as lmtp:
                lmtp.sendmail(sender, [user], raw)
            return
        cmd = [self.binaries.lda, "-c", str(self.conf_path), "-d", user, "-m", folder]
        if sender:
            cmd += ["-f", sender]
        res = subprocess.run(cmd, input=raw, capture_output=True, timeout=30, check=False)
        if res.returncode != 0:
            raise RuntimeError(
                f"dovecot-lda exited {res.returncode}: {res.stderr.decode(errors='replace')}\n{self.log_tail()}"
            )

    def append(
        self,
        user: str,
        folder: str,
        raw: bytes,
        flags: Sequence[str | bytes] = (),
        date: dt.datetime | None = None,
    ) -> int | None:
        """APPEND ``raw`` over IMAP (creating ``folder`` if needed); return the new UID from APPENDUID."""
        with self.imap_client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            resp = client.append(folder, raw, flags=tuple(flags), msg_time=date)
        match = re.search(rb"APPENDUID \d+ (\d+)", resp if isinstance(resp, bytes) else str(resp).encode())
        return int(match.group(1)) if match else None

    def seed_maildir(self, user: str, folder: str, messages: Iterable[SeedMessage | bytes]) -> list[Path]:
        """Write messages straight into ``user``'s Maildir (see :mod:`.maildir`); visible at the next IMAP
        SELECT/NOOP. Use for bulk data; use :meth:`deliver`/:meth:`append` when the path matters."""
        uid_gid = (self.ident.mail_uid, self.ident.mail_gid) if self.ident.is_root else (None, None)
        return write_messages(self.maildir_path(user, folder), messages, uid=uid_gid[0], gid=uid_gid[1])

    def maildir_path(self, user: str, folder: str = "INBOX") -> Path:
        return folder_path(self.home_root / user / "Maildir", folder)

    # ----------------------------------------------------------------------------------------- access
    def imap_client(
        self,
        user: str,
        *,
        tls: Literal["plain", "starttls", "ssl"] = "plain",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> IMAPClient:
        """A logged-in IMAPClient for assertions; the caller closes it (``with dovecot.imap_client(u) as c:``).

        ``tls``: ``plain`` (port imap_port, no TLS), ``starttls`` (imap_port + STARTTLS) or ``ssl`` (imaps_port).
        TLS verifies against this instance's CA unless ``ssl_context`` is given.
        """
        ctx = ssl_context or self.tls.client_context()
        if tls == "ssl":
            client = IMAPClient(self.host, port=self.imaps_port, ssl=True, ssl_context=ctx, timeout=timeout)
        else:
            client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=timeout)
            if tls == "starttls":
                client.starttls(ctx)
        try:
            client.login(user, self.users[user])
        except BaseException:
            client.shutdown()
            raise
        return client

    def log_text(self) -> str:
        """Dovecot's log (plus anything the master wrote to stderr before its log was open)."""
        parts = []
        for path in (self.stderr_path, self.log_path):
            try:
                parts.append(path.read_text(errors="replace"))
            except FileNotFoundError:
                continue
        return "".join(parts)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"<DovecotServer {self.instance_name} imap={self.imap_port} imaps={self.imaps_port}>"


def live_instances() -> list[DovecotServer]:
    """Instances started and not yet stopped (for attaching logs to failing tests)."""
    return list(_live)


@atexit.register
def _stop_all() -> None:
    """Last resort if the test process exits without fixture teardown (e.g. a crash): no orphaned Dovecots."""
    for server in list(_live):
        with contextlib.suppress(Exception):
            server.stop(kill=True)
            shutil.rmtree(server.root, ignore_errors=True)
