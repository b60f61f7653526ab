"""`tui-desk import` and `tui-desk messages`: .eml, mbox and Maildir in; identity by content, not
Message-ID; decoded values out as JSON; failures counted with reasons, exit 0."""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from rich.console import Console

from tui_desk.cli import main
from tui_desk.screens.safe import safe_line, safe_text
from tui_desk.storage.db import Database
from tui_desk.storage.messages import list_messages

KOI8_SUBJECT = "Счёт не оплачен"
SL_BODY = "Pozdravljeni, račun št. 42 je napačen. Lep pozdrav, Špela Žagar"


def _koi8() -> bytes:
    import base64

    word = base64.b64encode(KOI8_SUBJECT.encode("koi8-r")).decode()
    return (
        "From: =?koi8-r?B?" + base64.b64encode("Иван".encode("koi8-r")).decode() + "?= <ivan@example.ru>\n"
        f"To: support@example.test\nSubject: =?koi8-r?B?{word}?=\nMessage-ID: <koi8@example.ru>\n"
        "Date: Mon, 2 Nov 2026 10:00:00 +0300\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n"
    ).encode() + "Добрый день!".encode("koi8-r") + b"\n"


def _cp1250() -> bytes:
    return (
        b"From: =?windows-1250?Q?=8Apela_=8Eagar?= <spela@podjetje.si>\nTo: support@example.test\n"
        b"Subject: =?windows-1250?Q?Ra=E8un?=\nMessage-ID: <cp1250@podjetje.si>\n"
        b"Date: Mon, 2 Nov 2026 09:00:00 +0100\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=windows-1250\nContent-Transfer-Encoding: 8bit\n\n"
    ) + SL_BODY.encode("windows-1250") + b"\n"


def _hostile() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Mallory <m@evil.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "[bold red]x[/] \x1b]0;pwned\x07"
    msg["Message-ID"] = "<hostile@evil.test>"
    msg.set_content("see attachment")
    msg.add_attachment(b"root:x:0:0", maintype="text", subtype="plain", filename="../../etc/passwd")
    return msg.as_bytes()


def _run(data: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    (src / "koi8.eml").write_bytes(_koi8())
    (src / "cp1250.eml").write_bytes(_cp1250())
    (src / "hostile.eml").write_bytes(_hostile())
    box = mailbox.mbox(src / "archive.mbox")
    for n in range(3):
        box.add(f"From: a{n}@x.test\nSubject: mbox {n}\nMessage-ID: <mbox{n}@x.test>\n\nbody {n}\n".encode())
    box.flush()
    md = mailbox.Maildir(src / "Maildir")
    md.add(b"From: md@x.test\nSubject: from maildir\nMessage-ID: <md@x.test>\n\nhello\n")
    # Two different mails that share a Message-ID (web forms do this): both must be kept.
    (src / "form1.eml").write_bytes(b"From: form@x.test\nSubject: Form A\nMessage-ID: <same@form>\n\nA\n")
    (src / "form2.eml").write_bytes(b"From: form@x.test\nSubject: Form B\nMessage-ID: <same@form>\n\nB\n")
    (src / "empty.eml").write_bytes(b"")
    (src / "notmail.eml").write_bytes(b"\x00\x01binary junk")
    return src


def test_import_twice_adds_nothing_and_keeps_shared_message_ids(tmp_path, inputs, capsys) -> None:
    data = tmp_path / "data"
    code, out, _ = _run(data, "import", str(inputs), str(tmp_path / "missing.eml"), capsys=capsys)
    assert code == 0
    assert out.startswith("imported 9, already present 0, failed 3")
    assert "empty file" in out and "not an email message" in out and "no such file" in out
    code, out, _ = _run(data, "import", str(inputs), capsys=capsys)
    assert code == 0 and out.startswith("imported 0, already present 9")
    db = Database.in_dir(data)
    with db.read() as conn:
        rows = list_messages(conn)
    assert len(rows) == 9
    assert sorted(r["subject"] for r in rows if r["message_id"] == "same@form") == ["Form A", "Form B"]


def test_messages_json_has_decoded_values(tmp_path, inputs, capsys) -> None:
    data = tmp_path / "data"
    _run(data, "import", str(inputs), capsys=capsys)
    code, out, _ = _run(data, "messages", "--format", "json", capsys=capsys)
    assert code == 0
    rows = {r["message_id"]: r for r in json.loads(out)}
    for row in rows.values():
        assert {"id", "message_id", "subject", "from_name", "from_addr", "date", "attachments"} <= row.keys()
    assert rows["koi8@example.ru"]["subject"] == KOI8_SUBJECT
    assert rows["koi8@example.ru"]["from_name"] == "Иван"
    assert rows["cp1250@podjetje.si"]["from_name"] == "Špela Žagar"
    assert rows["cp1250@podjetje.si"]["subject"] == "Račun"
    hostile = rows["hostile@evil.test"]
    assert hostile["subject"] == "[bold red]x[/] \x1b]0;pwned\x07", "JSON holds the value as decoded"
    assert hostile["attachments"] == ["../../etc/passwd"]
    db = Database.in_dir(data)
    with db.read() as conn:
        stored = conn.exec_driver_sql("SELECT filename FROM attachments").scalars().all()
        body = conn.exec_driver_sql("SELECT text FROM messages WHERE message_id = 'cp1250@podjetje.si'").scalar()
    assert stored == ["passwd"], "the name written to disk is safe"
    assert SL_BODY in body


def test_markup_and_escapes_render_literally() -> None:
    subject = "[bold red]x[/] [@click=app.quit]q[/] \x1b]0;pwned\x07\x1b[31mred\u202e"
    text = safe_line(subject)
    assert text.plain == "[bold red]x[/] [@click=app.quit]q[/] red"
    assert not text.spans, "no style may come from the mail"
    console = Console(record=True, width=80, color_system=None)
    console.print(safe_text(subject))
    assert "[bold red]x[/]" in console.export_text()


def test_table_output_is_sanitised(tmp_path, inputs, capsys) -> None:
    data = tmp_path / "data"
    _run(data, "import", str(inputs / "hostile.eml"), capsys=capsys)
    code, out, _ = _run(data, "messages", capsys=capsys)
    assert code == 0 and "[bold red]x[/]" in out and "\x1b" not in out


def test_damaged_database_is_one_clear_line(tmp_path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "tui-desk.db").write_bytes(b"this is not sqlite" * 100)
    code, _out, err = _run(data, "messages", capsys=capsys)
    assert code == 2 and "cannot be used" in err and "Traceback" not in err

