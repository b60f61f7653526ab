"""Sync benchmark: tui-desk against the raw fetch limit, mbsync and offlineimap, on one Dovecot.

    .venv/bin/python benchmarks/sync.py            # 10,000 messages
    .venv/bin/python benchmarks/sync.py --n 100000 --skip-offlineimap

"cpu s" is this process's own CPU time (the in-process cost; the rest of a resync's seconds is
waiting for the server: Dovecot opens a 100k-message Maildir in ~0.3-0.5 s on SELECT).

Prints a table and writes benchmarks/results/sync.json (sync-N.json for other sizes). Ratios
compare figures of the same run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _harness import mail_host, mailbox, print_table, seed, timed, write_results
from imapclient import IMAPClient

from tui_desk.config import Account, Server
from tui_desk.storage.db import Database
from tui_desk.tickets.bodies import index_bodies
from tui_desk.tickets.sync import AccountSync


def raw_fetch(host: str, port: int, user: str, password: str) -> tuple[float, int]:
    """The limit: imapclient downloading every message (BODY.PEEK[] in batches of 1000), bytes discarded."""
    with IMAPClient(host, port=port, ssl=False) as c:
        c.login(user, password)
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["ALL"])
        start = time.perf_counter()
        total = 0
        for i in range(0, len(uids), 1000):
            for data in c.fetch(uids[i : i + 1000], ["BODY.PEEK[]"]).values():
                total += len(data[b"BODY[]"])
        return time.perf_counter() - start, total


def mbsync(host: str, port: int, user: str, password: str, work: Path) -> float | None:
    if not shutil.which("mbsync"):
        return None
    (work / "mb").mkdir()
    cfg = work / "mbsyncrc"
    cfg.write_text(
        f"IMAPAccount bench\nHost {host}\nPort {port}\nUser {user}\nPass {password}\nSSLType None\n"
        "AuthMechs LOGIN\n\nIMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {work}/mb/\nInbox {work}/mb/INBOX\n\n"
        "Channel bench\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSync Pull\nSyncState *\n"
    )
    seconds, done = timed(lambda: subprocess.run(["mbsync", "-q", "-c", str(cfg), "-a"], capture_output=True))
    return seconds if done.returncode == 0 else None  # type: ignore[union-attr]


def offlineimap(host: str, port: int, user: str, password: str, work: Path) -> float | None:
    exe = shutil.which("offlineimap") or shutil.which("offlineimap3")
    if not exe:
        return None
    cfg = work / "offlineimaprc"
    cfg.write_text(
        f"[general]\naccounts = bench\nmetadata = {work}/oi-meta\n\n[Account bench]\n"
        "localrepository = local\nremoterepository = remote\n\n"
        f"[Repository local]\ntype = Maildir\nlocalfolders = {work}/oi\n\n"
        f"[Repository remote]\ntype = IMAP\nremotehost = {host}\nremoteport = {port}\nremoteuser = {user}\n"
        f"remotepass = {password}\nssl = no\nstarttls = no\nfolderfilter = lambda f: f == 'INBOX'\n"
    )
    seconds, done = timed(lambda: subprocess.run([exe, "-c", str(cfg), "-o", "-u", "quiet"], capture_output=True))
    return seconds if done.returncode == 0 else None  # type: ignore[union-attr]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--skip-offlineimap", action="store_true", help="it takes minutes at 10k")
    ap.add_argument("--skip-mbsync", action="store_true")
    args = ap.parse_args()

    rows: list[dict[str, object]] = []
    with mail_host() as host:
        user = host.add_user()
        t0 = time.perf_counter()
        mails = mailbox(args.n)
        seed(host, user.name, mails)
        sizes = sorted(len(m.raw) for m in mails)
        print(f"seeded {args.n} messages (median {sizes[len(sizes) // 2]} bytes) in {time.perf_counter() - t0:.1f} s")

        raw_s, _raw_bytes = raw_fetch(host.host, host.imap_port, user.name, user.password)
        rows.append({"what": "raw fetch (imapclient, bytes discarded)", "seconds": raw_s, "msg/s": args.n / raw_s,
                     "vs raw": 1.0})  # fmt: skip

        work = Path(tempfile.mkdtemp(prefix="tdsync"))
        db = Database.in_dir(work / "data")
        # The generated mailbox is support@example.test's, replies included: configured as the
        # account's address, as a real help desk's would be (else "support@" is one customer
        # with thousands of tickets, which threading handles but no help desk looks like).
        account = Account(name="bench", email="support@example.test", username=user.name,
                          imap=Server(host.host, host.imap_port, "none"), folders=("INBOX",))  # fmt: skip
        syncer = AccountSync(db, account, user.password)
        first_s, report = timed(syncer.run_once)
        assert report.ok and report.new >= args.n, report.line()  # type: ignore[attr-defined]
        rows.append({"what": "tui-desk first sync (tickets usable)", "seconds": first_s, "msg/s": args.n / first_s,
                     "vs raw": raw_s / first_s})  # fmt: skip

        bodies_s, _ = timed(lambda: index_bodies(db))
        rows.append({"what": "tui-desk body pass (after the first sync, all cores)", "seconds": bodies_s,
                     "msg/s": args.n / bodies_s, "vs raw": raw_s / bodies_s})  # fmt: skip
        rows.append({"what": "tui-desk first sync + body pass", "seconds": first_s + bodies_s,
                     "msg/s": args.n / (first_s + bodies_s), "vs raw": raw_s / (first_s + bodies_s)})  # fmt: skip

        runs = []
        for _ in range(5):  # the first after a big sync includes the server's own index upkeep
            cpu = time.process_time()
            seconds, report = timed(syncer.run_once)
            runs.append((seconds, time.process_time() - cpu))
        rows.append({"what": "tui-desk no-change resync (first after the sync)", "seconds": runs[0][0],
                     "msg/s": None, "vs raw": None, "cpu s": runs[0][1]})  # fmt: skip
        rest = sorted(runs[1:])
        rows.append({"what": "tui-desk no-change resync (median of the next 4)", "seconds": rest[len(rest) // 2][0],
                     "msg/s": None, "vs raw": None, "cpu s": rest[len(rest) // 2][1]})  # fmt: skip

        extra = mailbox(args.n + 100, seed=8)[-100:]
        seed(host, user.name, extra)
        with IMAPClient(host.host, port=host.imap_port, ssl=False) as c:
            c.login(user.name, user.password)
            c.select_folder("INBOX")
            uids = c.search(["ALL"])
            picked = random.Random(1).sample(uids[: args.n], min(1000, args.n))
            c.add_flags(picked[: len(picked) // 2], [b"\\Seen"])
            c.add_flags(picked[len(picked) // 2 :], [b"\\Flagged"])
        cpu = time.process_time()
        changed_s, report = timed(syncer.run_once)
        rows.append({"what": "tui-desk resync: 100 new + 1,000 flag changes", "seconds": changed_s,
                     "msg/s": None, "vs raw": None, "cpu s": time.process_time() - cpu})  # fmt: skip
        syncer.close()

        if not args.skip_mbsync:
            mb = mbsync(host.host, host.imap_port, user.name, user.password, work)
            if mb:
                rows.append({"what": "mbsync into Maildir (FSync yes)", "seconds": mb, "msg/s": args.n / mb,
                             "vs raw": raw_s / mb})  # fmt: skip
        if not args.skip_offlineimap:
            oi = offlineimap(host.host, host.imap_port, user.name, user.password, work)
            if oi:
                rows.append({"what": "offlineimap3 into Maildir", "seconds": oi, "msg/s": args.n / oi,
                             "vs raw": raw_s / oi})  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)

    print_table(f"Sync of {args.n:,} messages, Dovecot on 127.0.0.1 (vs raw = raw seconds / these seconds)",
                rows, ["what", "seconds", "msg/s", "vs raw", "cpu s"])  # fmt: skip
    path = write_results("sync" if args.n == 10_000 else f"sync-{args.n}", rows, {"n": args.n})
    print(f"\nwrote {path}")


if __name__ == "__main__":  # the body pass spawns workers, which re-import this module
    main()
