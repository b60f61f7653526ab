"""The database: pragmas, versioned upgrades without loss, schema/model agreement, FTS5."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from tui_desk.storage import migrations
from tui_desk.storage import models as _models  # noqa: F401  (registers the tables)
from tui_desk.storage.db import Database, from_db_time, to_db_time
from tui_desk.storage.messages import (
    MessageRow,
    insert_message,
    list_messages,
    raw_bytes,
    search_message_ids,
)


def _row(**kw: object) -> MessageRow:
    base: dict[str, object] = {
        "message_id": "a@x", "subject": "Hello", "from_name": "Ana", "from_addr": "ana@example.si",
        "date": datetime(2026, 11, 1, 9, 30, tzinfo=UTC), "content_hash": "h1", "text": "body",
    }  # fmt: skip
    base.update(kw)
    return MessageRow(**base)  # type: ignore[arg-type]


def test_pragmas_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database.in_dir(tmp_path)
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert db.schema_version() == migrations.LATEST


def test_every_model_column_exists_after_migrations(tmp_path: Path) -> None:
    """The frozen DDL and the SQLModel classes must describe the same schema."""
    db = Database.in_dir(tmp_path)
    con = sqlite3.connect(db.path)
    for table in SQLModel.metadata.sorted_tables:
        have = {r[1] for r in con.execute(f"PRAGMA table_info({table.name})")}
        assert have, f"table {table.name} missing from migrations"
        want = {c.name for c in table.columns}
        assert want <= have, f"{table.name}: columns only in models: {want - have}"
    con.close()


def test_database_from_first_schema_upgrades_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path, isolation_level=None)
    migrations.upgrade(con, target=1)
    assert migrations.current_version(con) == 1
    con.execute(
        "INSERT INTO messages (message_id, subject, from_addr, date, content_hash, text, created_at) "
        "VALUES ('old@x', 'Старое письмо', 'ivan@example.ru', '2020-01-02 03:04:05.000000', 'hh', "
        "'текст', '2020-01-02 03:04:05.000000')"
    )
    con.close()

    db = Database.open(path)
    assert db.schema_version() == migrations.LATEST
    with db.read() as conn:
        rows = list_messages(conn)
        assert [(r["message_id"], r["subject"]) for r in rows] == [("old@x", "Старое письмо")]
        assert search_message_ids(conn, "письмо") == [rows[0]["id"]]
    if migrations.LATEST > 1:
        assert path.with_name("old.db.v1.bak").exists(), "an upgrade must keep a backup of the old file"

    # v1 -> v2 added tickets: mail stored before them is threaded the first time the desk opens.
    from tui_desk.tickets.desk import open_desk
    from tui_desk.tickets.ids import ref_for
    from tui_desk.tickets.query import page

    assert open_desk(db) == 1
    with db.read() as conn:
        tickets = page(conn, "письмо").rows
    assert [(t["id"], t["subject"], t["requester"]["address"]) for t in tickets] == [
        (ref_for("old@x"), "Старое письмо", "ivan@example.ru")
    ]
    assert open_desk(db) == 0
    db.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {migrations.LATEST + 5}")
    con.close()
    with pytest.raises(migrations.SchemaTooNew, match="only knows up to"):
        Database.open(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST + 5
    con.close()


def test_a_failed_step_rolls_back(tmp_path: Path) -> None:
    broken = [*migrations.MIGRATIONS, migrations.Migration(migrations.LATEST + 1, "broken", "CREATE TABLE t(x);\nNOT SQL;")]
    con = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrations.upgrade(con, steps=broken)
    assert migrations.current_version(con) == migrations.LATEST
    assert con.execute("SELECT name FROM sqlite_master WHERE name='t'").fetchone() is None
    con.close()


def test_raw_bytes_round_trip_and_cascade(tmp_path: Path) -> None:
    db = Database.in_dir(tmp_path)
    raw = b"Subject: x\r\n\r\n" + "Račun".encode() * 1000
    with db.write() as conn:
        mid = insert_message(conn, _row(), raw)
    with db.read() as conn:
        assert raw_bytes(conn, mid) == raw
    with db.write() as conn:
        conn.exec_driver_sql("DELETE FROM messages WHERE id = ?", (mid,))
    with db.read() as conn:
        assert raw_bytes(conn, mid) is None


def test_fts_is_case_insensitive_in_every_script(tmp_path: Path) -> None:
    db = Database.in_dir(tmp_path)
    with db.write() as conn:
        a = insert_message(conn, _row(subject="Račun za november", content_hash="1"), None)
        b = insert_message(conn, _row(subject="ПРОБЛЕМА с оплатой", content_hash="2", message_id="b@x"), None)
        insert_message(conn, _row(subject="Unrelated", content_hash="3", message_id="c@x"), None)
    with db.read() as conn:
        assert search_message_ids(conn, "račun") == [a]
        assert search_message_ids(conn, "RAČUN") == [a]
        assert search_message_ids(conn, "racun") == [a]
        assert search_message_ids(conn, "проблема") == [b]
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE messages SET subject = 'Predračun' WHERE id = ?", (a,))
    with db.read() as conn:
        assert search_message_ids(conn, "račun") == []
        assert search_message_ids(conn, "predračun") == [a]


def test_times_are_stored_as_utc(tmp_path: Path) -> None:
    from datetime import timedelta, timezone

    local = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert to_db_time(local) == "2026-03-01 09:00:00.000000"
    assert from_db_time("2026-03-01 09:00:00") == local
