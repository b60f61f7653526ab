"""Shared plumbing for the benchmarks: a private Dovecot (the test harness's), fast synthetic
mailboxes, timing and result output. Benchmarks print a table and write JSON; they never assert."""

from __future__ import annotations

import json
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from mailhost.host import MailHost, start_mailhost  # noqa: E402
from mailhost.maildir import SeedMessage  # noqa: E402
from mailhost.tlsca import make_pki  # noqa: E402

from tui_desk.demo.mailgen import GeneratedMail, generate  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
_MID = re.compile(rb"^Message-ID: <([^>]+)>", re.M | re.I)


@contextmanager
def mail_host() -> Iterator[MailHost]:
    pki = make_pki(Path(tempfile.mkdtemp(prefix="tdbench")))
    host = start_mailhost(pki)
    try:
        yield host
    finally:
        host.close()


_ANGLE = re.compile(rb"<(?!support@)([^<>@\s]+)@")


def _clone(src: GeneratedMail, generation: int) -> GeneratedMail:
    """`src` as one more, unrelated customer's mail: every `<local@` in the header (Message-IDs,
    In-Reply-To, References and the customer's own address) gets a generation prefix, so a clone
    threads with the clones of its own conversation only, as a new customer's would."""
    head, sep, body = src.raw.partition(b"\n\n") if b"\r\n\r\n" not in src.raw else src.raw.partition(b"\r\n\r\n")
    prefix = f"g{generation}.".encode()
    head = _ANGLE.sub(lambda m: b"<" + prefix + m.group(1) + b"@", head)
    mid = _MID.search(head)
    addr = src.from_addr if src.from_addr.startswith("support@") else f"g{generation}.{src.from_addr}"
    return GeneratedMail(head + sep + body, src.date, src.lang, addr,
                         mid.group(1).decode() if mid else src.message_id, src.kind)  # fmt: skip


def mailbox(n: int, *, pool: int = 3000, seed: int = 7) -> list[GeneratedMail]:
    """`n` realistic messages (median about 6 KB). Beyond `pool` distinct ones, the pool is cloned
    as new customers' conversations (`_clone`), so a 100k mailbox is quick to build, has no
    duplicates, and has as many tickets per message as a small one (not 50-message tickets)."""
    base = list(generate(min(n, pool), seed=seed, pad_to=7500))
    out = list(base)
    i = 0
    while len(out) < n:
        out.append(_clone(base[i % len(base)], 1 + i // len(base)))
        i += 1
    return out


def seed(host: MailHost, user: str, mails: list[GeneratedMail], folder: str = "INBOX") -> None:
    host.dovecot.seed_maildir(user, folder, [SeedMessage(m.raw, m.date) for m in mails])


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_of(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def write_results(name: str, rows: list[dict[str, object]], meta: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        **meta,
        "rows": rows,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return path


def print_table(title: str, rows: list[dict[str, object]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print(f"\n{title}")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return str(value)
