"""Ticket filter benchmark: first-page latency of typical filters over 100,000 tickets.

    .venv/bin/python benchmarks/tickets.py                 # 100,000 tickets, ~2.3 messages each
    .venv/bin/python benchmarks/tickets.py --tickets 20000 --repeat 50
    .venv/bin/python benchmarks/tickets.py --db /tmp/t.db  # keep (and reuse) the built database

The database is built with bulk SQL (not the threading path, which is not what is measured)
and the full-text index is rebuilt once at the end. No ANALYZE is run,
as in a user's database. Each filter runs through `query.page` (parse + SQL + tags of the
window) `--repeat` times; the table shows p50/p95 in milliseconds. Writes
benchmarks/results/tickets.json. Benchmarks never assert.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui_desk.storage.db import Database, to_db_time  # noqa: E402
from tui_desk.tickets import query  # noqa: E402
from tui_desk.tickets.ids import ref_for, subject_key  # noqa: E402

ME = "agent3@desk.example"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
FILTERS = [
    ("all, newest first", ""),
    ("status:open,pending", "status:open,pending"),
    ("status + assignee", "status:open,pending assignee:me"),
    ("status + assignee + word (typical)", "status:open,pending assignee:me refund"),
    ("status + assignee + common word", "status:open,pending assignee:me račun"),
    ("status + assignee + rare word", "status:open assignee:me проблема"),
    ("word only (1% of mail)", "refund"),
    ("phrase only", '"refund please"'),
    ("unassigned, not closed, by priority", "assignee:none -status:solved,closed sort:priority"),
    ("status, by priority", "status:open sort:priority"),
    ("tag + -status", "tag:billing -status:closed"),
    ("priority:>=high after:30d", "priority:>=high after:30d"),
    ("from:@domain", "from:@acme0.com"),
    ("is:unread -tag:spam", "is:unread -tag:spam"),
]
STATUSES = ["new"] * 10 + ["open"] * 25 + ["pending"] * 15 + ["on-hold"] * 5 + ["solved"] * 25 + ["closed"] * 20
AGENTS = [f"agent{i}@desk.example" for i in range(12)] + [""] * 4
WORDS_SPECIAL = [("refund", 0.01), ("račun", 0.06), ("проблема", 0.002), ("please", 0.03)]


def _text(rnd: random.Random, vocab: list[str], cum: list[float]) -> str:
    words = rnd.choices(vocab, cum_weights=cum, k=rnd.randint(15, 45))
    for word, share in WORDS_SPECIAL:
        if rnd.random() < share:
            words.insert(rnd.randrange(len(words) + 1), word)
    if "refund" in words and rnd.random() < 0.5:
        words.insert(words.index("refund") + 1, "please")
    return " ".join(words)


def build(path: Path, n: int, seed: int = 7) -> tuple[int, float]:
    """Fill a fresh database with `n` tickets and their messages; returns (messages, seconds)."""
    start = time.perf_counter()
    Database.open(path).close()
    rnd = random.Random(seed)
    vocab = [f"w{i:05d}" for i in range(30000)]
    cum: list[float] = []
    total = 0.0
    for i in range(len(vocab)):
        total += 1 / (i + 1)
        cum.append(total)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    # Older schemas index each inserted message by trigger: drop it while loading, put it back after.
    found = con.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts_ai'").fetchone()
    trigger = found[0] if found else None
    if trigger:
        con.execute("DROP TRIGGER messages_fts_ai")
    con.execute("BEGIN")
    mid = 0
    tickets, messages, tags = [], [], []
    for pk in range(1, n + 1):
        customer = f"c{rnd.randrange(n // 3 + 1)}@acme{rnd.randrange(400)}.com"
        created = NOW - timedelta(minutes=rnd.randrange(365 * 24 * 60))
        count = rnd.choice((1, 1, 2, 2, 3, 4))
        last = created + timedelta(hours=rnd.randrange(1, 96) * (count - 1))
        subject = f"Zadeva {rnd.choice(vocab[:3000])} {pk}"
        snippet = ""
        for j in range(count):
            mid += 1
            text = _text(rnd, vocab, cum)
            snippet = text[:200]
            when = created + (last - created) * (j / max(1, count - 1))
            ours = j % 2 == 1
            messages.append((mid, f"m{mid}@x", "Re: " + subject if j else subject, "" if ours else "Stranka",
                             AGENTS[0] if ours else customer, to_db_time(when), f"h{mid}", text, snippet, pk,
                             "refs" if j else "new", ours, to_db_time(when)))  # fmt: skip
        status = rnd.choice(STATUSES)
        tickets.append((pk, ref_for(f"root{pk}@x"), f"root{pk}@x", subject, subject_key(subject), status,
                        rnd.choice((0, 1, 1, 1, 2, 3)), rnd.choice(AGENTS), customer, customer.split("@")[1],
                        to_db_time(created), to_db_time(last), to_db_time(last), snippet,
                        rnd.random() < 0.2, count))  # fmt: skip
        for tag in ("billing", "spam", "vip", "shipping"):
            if rnd.random() < 0.12:
                tags.append((pk, tag))
    con.executemany(
        "INSERT INTO tickets (id, ref, root, subject, subject_key, status, priority, assignee, requester_addr, "
        "requester_domain, created_at, updated_at, last_message_at, snippet, unread, message_count, hidden) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        tickets,
    )
    con.executemany(
        "INSERT INTO messages (id, message_id, subject, from_name, from_addr, date, content_hash, text, snippet, "
        "ticket_id, thread_kind, ours, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    con.executemany("INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?)", tags)
    con.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
    if trigger:
        con.execute(trigger)
    con.execute("COMMIT")
    con.close()
    return mid, time.perf_counter() - start


def measure(db: Database, text: str, repeat: int) -> dict[str, object]:
    times: list[float] = []
    with db.read() as conn:
        first = query.page(conn, text, limit=50, agent=ME, now=NOW)
        for _ in range(repeat):
            start = time.perf_counter()
            query.page(conn, text, limit=50, agent=ME, now=NOW)
            times.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        total = query.count(conn, text, agent=ME, now=NOW)
        count_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        if first.next_cursor:
            query.page(conn, text, after=first.next_cursor, limit=50, agent=ME, now=NOW)
        page2_ms = (time.perf_counter() - start) * 1000
    times.sort()
    return {
        "p50 ms": statistics.median(times),
        "p95 ms": times[min(len(times) - 1, int(len(times) * 0.95))],
        "page 2 ms": page2_ms,
        "count ms": count_ms,
        "matches": total,
        "rows": len(first.rows),
    }


BASELINE_SQL = (
    "SELECT t.id, t.ref, t.subject FROM tickets t WHERE t.status IN ('open', 'pending') AND t.assignee = ? "
    "AND t.merged_into IS NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id "
    "AND (lower(m.subject) LIKE '%refund%' OR lower(m.text) LIKE '%refund%')) "
    "ORDER BY t.updated_at DESC LIMIT 50"
)
"""The typical filter written the straightforward way: plain SQL with LIKE over the mail text,
no full-text index, no query planner hints (what `query.page` is measured against)."""


def baseline(db: Database, repeat: int) -> dict[str, object]:
    times: list[float] = []
    with db.read() as conn:
        raw = conn.connection.dbapi_connection
        found = raw.execute(BASELINE_SQL, (ME,)).fetchall()  # type: ignore[union-attr]
        for _ in range(max(3, repeat // 5)):
            start = time.perf_counter()
            raw.execute(BASELINE_SQL, (ME,)).fetchall()  # type: ignore[union-attr]
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50 ms": statistics.median(times), "p95 ms": times[min(len(times) - 1, int(len(times) * 0.95))],
            "page 2 ms": None, "count ms": None, "matches": len(found), "rows": len(found)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", type=Path, help="database file to build (or reuse if it exists)")
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory() if args.db is None else None
    path = args.db or Path(workdir.name) / "tickets.db"  # type: ignore[union-attr]
    if path.exists():
        con = sqlite3.connect(path)
        n_messages = con.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        con.close()
        build_s = 0.0
        print(f"reusing {path} ({n_messages} messages)")
    else:
        n_messages, build_s = build(path, args.tickets)
        print(f"built {args.tickets} tickets, {n_messages} messages in {build_s:.1f} s ({path})")
    db = Database.open(path)
    rows = []
    for label, text in FILTERS:
        rows.append({"filter": label, "query": text, **measure(db, text, args.repeat)})
    base = {"filter": "baseline: typical filter as LIKE scan", "query": BASELINE_SQL, **baseline(db, args.repeat)}
    rows.append(base)
    typical = next(r for r in rows if r["filter"].endswith("(typical)"))
    for r in rows:  # only the typical filter answers the same question as the baseline
        same = r is typical or r is base
        r["vs baseline"] = float(base["p50 ms"]) / float(r["p50 ms"]) if same else None  # type: ignore[arg-type]
    print(f"typical filter p50 {typical['p50 ms']:.2f} ms vs LIKE-scan baseline {base['p50 ms']:.1f} ms:"
          f" {typical['vs baseline']:.0f}x faster")
    db.close()
    columns = ["filter", "p50 ms", "p95 ms", "page 2 ms", "count ms", "matches", "vs baseline"]
    widths = {c: max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in columns}
    print(f"\nfirst page (50 rows) of typical filters, {args.tickets} tickets, {args.repeat} runs each")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(_fmt(r[c]).ljust(widths[c]) for c in columns))
    out = ROOT / "benchmarks" / "results" / "tickets.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"tickets": args.tickets, "messages": n_messages, "build seconds": round(build_s, 1),
            "repeat": args.repeat, "sqlite": sqlite3.sqlite_version}  # fmt: skip
    out.write_text(json.dumps({
        "benchmark": "tickets", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        **meta, "rows": rows,
    }, indent=2, ensure_ascii=False))  # fmt: skip
    print(f"\nwrote {out}")
    if workdir is not None:
        workdir.cleanup()


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


if __name__ == "__main__":
    main()
