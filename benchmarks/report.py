"""Write docs/benchmarks.md from the JSON the benchmarks left in benchmarks/results/.

    .venv/bin/python benchmarks/report.py

Each table is one benchmark run; ratios compare figures measured in that same run.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
OUT = ROOT / "docs" / "benchmarks.md"

INTRO = """# Benchmarks

Measured by the scripts in `benchmarks/` (each prints a table and writes JSON to
`benchmarks/results/`); this page is generated from that JSON by `benchmarks/report.py`.
They are not tests and assert nothing. Machine: 2 cores, Debian 12, Dovecot 2.3 on 127.0.0.1
without TLS. Runs vary by up to ~25% on this machine, so compare figures within one run.

| what | command |
|---|---|
| sync | `.venv/bin/python benchmarks/sync.py [--n 100000] [--skip-offlineimap]` |
| ticket filters | `.venv/bin/python benchmarks/tickets.py` |
| terminal UI | `.venv/bin/python benchmarks/ui.py` |
| this page | `.venv/bin/python benchmarks/report.py` |

Reading the sync tables: "cpu s" is tui-desk's own CPU time. The rest of a resync's seconds is
the server: an unchanged folder is checked with STATUS (it is not opened), and Dovecot answers
STATUS for a 100k-message Maildir in 0.2-0.35 s after the body pass has read every message
(its own log line says so: `Status completed (0.222 + 0.000 + 0.221 secs)`), in ~3 ms before.
The UI's keystroke figures pool every keystroke of all its runs; the JSON names the slowest.
"""


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value).replace("|", "\\|")
    return text if len(text) <= 70 else text[:69] + "…"


def table(rows: list[dict[str, object]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parts = [INTRO]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        # Per-run detail (lists, dicts) stays in the JSON; the page shows scalars.
        meta = {k: v for k, v in data.items()
                if k not in {"rows", "benchmark", "machine"} and not isinstance(v, list | dict)}  # fmt: skip
        parts.append(f"\n## {data.get('benchmark', path.stem)}\n")
        parts.append(", ".join(f"{k}: {_fmt(v)}" for k, v in meta.items()) + "\n")
        parts.append(table(data["rows"]) + "\n")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(parts))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
