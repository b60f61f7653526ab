"""Schema upgrades from every released version: no row and no value is lost on the way.

`test_storage.py` upgrades a realistic first-schema database and threads it; this file fills
every table that exists at each intermediate version with rows (non-ASCII text, every column
set, foreign keys pointing at real rows) and checks that after `Database.open` each of those
rows is still there with the same values, that the backup holds them too, and that the
full-text index still finds the old mail.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tui_desk.storage import migrations
from tui_desk.storage.db import Database
from tui_desk.storage.messages import search_message_ids

ROWS = 3
Snapshot = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def _tables(con: sqlite3.Connection) -> list[str]:
    """Plain tables; the FTS5 table and its shadow tables are checked through search instead."""
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [n for n in names if not n.startswith(("sqlite_", "message_fts"))]


def _value(column: str, decl: str, i: int) -> Any:
    decl = decl.upper()
    if "DATETIME" in decl:
        return f"2020-01-0{i + 1} 03:04:05.000000"
    if "BOOLEAN" in decl:
        return i % 2
    if "INT" in decl:
        return i + 1  # ids 1..ROWS exist in every table, so foreign keys point at real rows
    if "BLOB" in decl:
        return bytes([i]) * 16
    if column == "text":
        return f"старое письмо {i} račun"
    return f"{column} {i} Račun ПИСЬМО"


def _fill(con: sqlite3.Connection, version: int) -> None:
    con.execute("BEGIN")
    for table in _tables(con):
        # an INTEGER PRIMARY KEY is left to SQLite (saved_views already holds the built-in views)
        info = con.execute(f"PRAGMA table_info({table})").fetchall()
        columns = [(r[1], r[2]) for r in info if not (r[5] and r[1] == "id")]
        names = ", ".join(name for name, _ in columns)
        marks = ", ".join("?" for _ in columns)
        for i in range(ROWS):
            values = [_value(name, decl, i) for name, decl in columns]
            con.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
    if version >= 5:  # from v5 on the code that inserts messages writes their FTS rows
        con.execute(
            "INSERT INTO message_fts (rowid, subject, from_name, from_addr, text) "
            "SELECT id, subject, from_name, from_addr, text FROM messages"
        )
    con.execute("COMMIT")


def _snapshot(con: sqlite3.Connection, tables: Snapshot | None = None) -> Snapshot:
    """Every row of every table (or of the tables and columns of an earlier snapshot)."""
    out: Snapshot = {}
    for table in tables or _tables(con):
        if tables is None:
            columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        else:
            columns = tables[table][0]
        rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        out[table] = (columns, sorted(rows, key=repr))
    return out


@pytest.mark.parametrize("version", range(1, migrations.LATEST))
def test_a_database_from_each_version_upgrades_without_losing_a_row(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    con = sqlite3.connect(path, isolation_level=None)
    assert migrations.upgrade(con, target=version) == list(range(1, version + 1))
    _fill(con, version)
    before = _snapshot(con)
    con.close()
    assert all(len(rows) >= ROWS for _, rows in before.values())

    db = Database.open(path)
    assert db.schema_version() == migrations.LATEST
    with db.read() as conn:
        assert len(search_message_ids(conn, "письмо")) == ROWS
        assert len(search_message_ids(conn, "RACUN")) == ROWS
    db.close()

    con = sqlite3.connect(path)
    assert _snapshot(con, before) == before
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.execute("INSERT INTO message_fts(message_fts) VALUES ('integrity-check')")
    con.close()

    saved = sqlite3.connect(path.with_name(f"{path.name}.v{version}.bak"))
    assert saved.execute("PRAGMA user_version").fetchone()[0] == version
    assert _snapshot(saved) == before
    saved.close()


def test_every_version_module_is_listed_once_in_order() -> None:
    """A new `vNNN_*.py` that is not in `runner.STEPS` would silently never run."""
    here = Path(migrations.__file__).parent
    modules = sorted(p.stem for p in here.glob("v[0-9][0-9][0-9]_*.py"))
    assert [m.__name__.rsplit(".", 1)[1] for m in migrations.runner.STEPS] == modules
    assert [m.version for m in migrations.MIGRATIONS] == list(range(1, migrations.LATEST + 1))
    assert [int(name[1:4]) for name in modules] == list(range(1, migrations.LATEST + 1))
