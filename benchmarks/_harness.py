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


def mailbox(n: int, *, pool: int = 3000, seed: int = 7) -> list[GeneratedMail]:
    """`n` realistic messages (median about 6 KB). Beyond `pool` distinct ones, messages are
    cloned with a fresh Message-ID so a 100k mailbox is quick to build but never has duplicates."""
    base = list(generate(min(n, pool), seed=seed, pad_to=7500))
    out = list(base)
    i = 0
    while len(out) < n:
        src = base[i % len(base)]
        mid = f"clone{i}.{src.message_id}"
        raw = _MID.sub(b"Message-ID: <" + mid.encode() + b">", src.raw, count=1)
        out.append(GeneratedMail(raw, src.date, src.lang, src.from_addr, mid, src.kind))
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
