"""Sync as it runs for real: push via IDLE, a server that goes away and comes back, the CLI,
and a first sync killed with SIGKILL at random moments."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mailhost import SeedMessage
from support.accounts import account_for

from tui_desk.config import Config, save_config
from tui_desk.demo.mailgen import generate
from tui_desk.storage.db import Database
from tui_desk.storage.messages import list_messages
from tui_desk.tickets.sync import AccountSync, SyncReport


def _count(db: Database, folder: str = "INBOX") -> int:
    with db.read() as conn:
        return sum(1 for r in list_messages(conn) if r["folder"] == folder)


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _children(pid: int) -> set[int]:
    """Child processes of `pid` (Linux /proc), to check none outlives a killed parent."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with_text = task.read_text().split()
        out |= {int(p) for p in with_text}
    return out


def _is_ours(pid: int) -> bool:
    """Still a Python process (and not a recycled pid of something else)."""
    try:
        return "python" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _raw(n: int) -> bytes:
    return (f"From: kupec{n}@example.si\r\nTo: support@example.test\r\nSubject: Novo {n}\r\n"
            f"Message-ID: <live{n}.{time.time_ns()}@example.si>\r\n\r\nZdravo {n}\r\n").encode()  # fmt: skip


def test_idle_brings_new_mail_within_two_seconds(mailhost, mail_user, tmp_path: Path) -> None:
    db = Database.in_dir(tmp_path)
    syncer = AccountSync(db, account_for(mailhost, mail_user), mail_user.password)
    stop = threading.Event()
    reports: list[SyncReport] = []
    worker = threading.Thread(target=syncer.watch, args=(stop, reports.append), kwargs={"poll_seconds": 30})
    worker.start()
    try:
        assert _wait(lambda: bool(reports), 10), "first sync did not finish"
        time.sleep(0.3)  # let it settle into IDLE
        latencies = []
        for n in range(3):
            delivered = time.monotonic()
            mailhost.dovecot.deliver(mail_user.name, _raw(n))
            assert _wait(lambda n=n: _count(db) == n + 1, 5), "pushed mail never arrived"
            latencies.append(time.monotonic() - delivered)
        assert max(latencies) < 2.0, f"IDLE delivery latency too high: {latencies}"
    finally:
        stop.set()
        worker.join(10)
        syncer.close()
    assert not worker.is_alive()


def test_server_outage_goes_offline_then_reconnects(make_dovecot, tmp_path: Path) -> None:
    dovecot = make_dovecot()
    user = dovecot.add_user()
    db = Database.in_dir(tmp_path)
    from dataclasses import replace

    account = account_for(dovecot, user)
    account = replace(account, imap=replace(account.imap, timeout=3.0))  # fail fast, retry soon
    syncer = AccountSync(db, account, user.password)
    stop = threading.Event()
    reports: list[SyncReport] = []
    worker = threading.Thread(target=syncer.watch, args=(stop, reports.append),
                              kwargs={"poll_seconds": 0.5, "first_backoff": 0.2})  # fmt: skip
    dovecot.deliver(user.name, _raw(1))
    worker.start()
    try:
        assert _wait(lambda: _count(db) == 1, 10)
        # A graceful stop: a SIGKILLed Dovecot can leave a stale dotlock on the mailbox that it
        # then waits out for minutes, which would test Dovecot's recovery, not ours.
        dovecot.stop()
        assert _wait(lambda: any(r.state == "offline" for r in reports), 10), [r.line() for r in reports]
        offline = next(r for r in reports if r.state == "offline")
        assert "127.0.0.1" in offline.reason
        assert _count(db) == 1, "going offline must not touch local data"
        dovecot.restart()
        dovecot.deliver(user.name, _raw(2))
        assert _wait(lambda: _count(db) == 2, 30), [r.line() for r in reports[-5:]]
        assert _wait(lambda: reports[-1].ok, 5)
    finally:
        stop.set()
        worker.join(15)
        syncer.close()


def _cli(tmp_path: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUI_DESK_DATA_DIR": str(tmp_path / "data"), "TUI_DESK_CONFIG": str(tmp_path / "c.toml")}
    return subprocess.run([sys.executable, "-m", "tui_desk.cli", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)  # fmt: skip


def _write_config(tmp_path: Path, account) -> None:  # type: ignore[no-untyped-def]
    save_config(tmp_path / "c.toml", Config(accounts=(account,)))


def test_cli_sync_and_clear_failures(mailhost, mail_user, tmp_path: Path) -> None:
    from dataclasses import replace

    account = replace(account_for(mailhost, mail_user), password_command=f"printf %s {mail_user.password}")
    _write_config(tmp_path, account)
    mailhost.dovecot.deliver(mail_user.name, _raw(1))
    done = _cli(tmp_path, "sync")
    assert done.returncode == 0, done.stderr
    assert "support: 1 new" in done.stdout
    listed = _cli(tmp_path, "account", "list")
    assert "online" in listed.stdout

    _write_config(tmp_path, replace(account, password_command="printf %s wrong"))
    bad = _cli(tmp_path, "sync")
    assert bad.returncode == 2
    assert "auth: " in bad.stdout and "Traceback" not in bad.stderr + bad.stdout

    _write_config(tmp_path, replace(account, password_command=""))
    nokeyring = _cli(tmp_path, "sync")  # a fresh process: no keyring backend on this machine
    assert nokeyring.returncode == 2 and "Traceback" not in nokeyring.stderr
    assert "password_command" in nokeyring.stderr

    tested = _cli(tmp_path, "account", "test", "nope")
    assert tested.returncode == 2 and "no account named 'nope'" in tested.stderr


def test_account_add_stores_password_in_keyring(mailhost, mail_user, tmp_path: Path, memory_keyring) -> None:
    from tui_desk.cli import main

    os.environ["TUI_DESK_CONFIG"] = str(tmp_path / "c.toml")
    try:
        import io

        sys.stdin = io.StringIO(mail_user.password + "\n")
        code = main(["--data-dir", str(tmp_path), "account", "add", "desk", "--email", mail_user.address,
                     "--username", mail_user.name, "--imap-host", mailhost.host, "--imap-port",
                     str(mailhost.imap_port), "--imap-security", "starttls", "--ca-file", str(mailhost.ca_file),
                     "--password-stdin"])  # fmt: skip
    finally:
        sys.stdin = sys.__stdin__
        del os.environ["TUI_DESK_CONFIG"]
    assert code == 0
    assert memory_keyring.store[("tui-desk", "desk")] == mail_user.password
    assert mail_user.password not in (tmp_path / "c.toml").read_text()


@pytest.mark.timeout(240)
def test_sigkill_during_first_sync_loses_and_duplicates_nothing(mailhost, mail_user, tmp_path: Path) -> None:
    from dataclasses import replace

    mails = list(generate(2500, seed=11))
    mailhost.dovecot.seed_maildir(mail_user.name, "INBOX", [SeedMessage(m.raw, m.date) for m in mails])
    account = replace(account_for(mailhost, mail_user), password_command=f"printf %s {mail_user.password}")
    _write_config(tmp_path, account)
    env = {**os.environ, "TUI_DESK_DATA_DIR": str(tmp_path / "data"), "TUI_DESK_CONFIG": str(tmp_path / "c.toml")}
    rng = random.Random(5)
    kills = 0
    orphans: set[int] = set()
    for run in range(6):
        # Odd runs lower the threshold of the envelope worker process, so kills hit that path too.
        argv = [sys.executable, "-m", "tui_desk.cli", "sync"] if run % 2 == 0 else [
            sys.executable, "-c", "import sys, tui_desk.tickets.sync_folder as f; f.WORKER_ABOVE = 500; "
            "from tui_desk.cli import main; sys.exit(main(['sync']))"]  # fmt: skip
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.6))
        if proc.poll() is None:
            orphans |= _children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 3, "the sync finished too fast to be killed: make the mailbox bigger"
    assert _wait(lambda: not any(Path(f"/proc/{pid}").exists() and _is_ours(pid) for pid in orphans), 10), \
        "a worker process outlived the killed sync"
    final = subprocess.run([sys.executable, "-m", "tui_desk.cli", "sync"], env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert final.returncode == 0, final.stderr
    db = Database.in_dir(tmp_path / "data")
    with db.read() as conn:
        rows = [r for r in list_messages(conn) if r["folder"] == "INBOX"]
        uids = [r["uid"] for r in rows]
    assert len(uids) == len(set(uids)) == 2500
    assert sorted(r["message_id"] for r in rows) == sorted(m.message_id for m in mails)
