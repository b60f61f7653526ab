"""Outgoing mail: header injection refused, threading headers, attachments; placeholders;
templates (search, files round-trip)."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tui_desk.mail.compose import (
    AttachmentError,
    HeaderInjection,
    OutgoingMail,
    check_attachments,
    may_auto_answer,
    to_bytes,
    trim_references,
)
from tui_desk.storage.db import Database
from tui_desk.tickets import templates as tpl
from tui_desk.tickets.placeholders import leftover, render


def _mail(**kw: object) -> OutgoingMail:
    base: dict[str, object] = {
        "from_addr": ("Podpora", "support@example.test"), "to": [("Ana Novak", "ana@example.si")],
        "subject": "Re: [#T-ABCDEFGH] Račun", "text": "Živjo\n.leading dot\n", "message_id": "m1@example.test",
    }  # fmt: skip
    base.update(kw)
    return OutgoingMail(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("Subject", {"subject": "Hello\r\nBcc: victim@example.com"}),
        ("Subject", {"subject": "Hello\nX-Evil: 1"}),
        ("Subject", {"subject": "Hello\u2028there"}),
        ("To", {"to": [("Ana\r\nBcc: x@y.z", "ana@example.si")]}),
        ("To", {"to": [("Ana", "ana@example.si\r\nBcc: x@y.z")]}),
        ("From", {"from_addr": ("Support\nX: y", "support@example.test")}),
        ("Cc", {"cc": [("", "c@example.si\n")]}),
        ("In-Reply-To", {"in_reply_to": "a@b\r\nX: y"}),
    ],
)
def test_header_injection_is_refused_naming_the_field(field: str, kw: dict[str, object]) -> None:
    with pytest.raises(HeaderInjection) as info:
        to_bytes(_mail(**kw))
    assert info.value.field == field
    assert field in str(info.value) and "line break" in str(info.value)


def test_message_headers_utf8_and_no_auto_submitted_on_human_replies() -> None:
    refs = [f"r{i}@x" for i in range(30)]
    raw = to_bytes(_mail(in_reply_to="r29@x", references=refs, reply_to=[("Podpora", "support@example.test")]))
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Message-ID"] == "<m1@example.test>"
    assert msg["In-Reply-To"] == "<r29@x>"
    kept = msg["References"].split()
    assert kept[0] == "<r0@x>" and kept[-1] == "<r29@x>" and len(kept) == 11
    assert str(msg["Subject"]) == "Re: [#T-ABCDEFGH] Račun"
    assert msg["Date"] and "Auto-Submitted" not in msg
    assert msg.get_content().replace("\r\n", "\n") == "Živjo\n.leading dot\n"
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert "Auto-Submitted: auto-replied" in to_bytes(_mail(auto_submitted="auto-replied")).decode()


def test_references_trimming_keeps_root_and_recent() -> None:
    assert trim_references(["a", "b", "a", "c"]) == ["a", "b", "c"]
    chain = [str(i) for i in range(20)]
    assert trim_references(chain, keep_last=3) == ["0", "17", "18", "19"]


def test_attachments_rfc2231_names_and_checks(tmp_path: Path) -> None:
    doc = tmp_path / "račun št. 5.pdf"
    doc.write_bytes(b"%PDF-1.4 data")
    raw = to_bytes(_mail(attachments=[str(doc)]))
    assert b"filename*=utf-8''ra%C4%8Dun" in raw
    msg = message_from_bytes(raw, policy=policy.default)
    part = next(msg.iter_attachments())
    assert part.get_filename() == "račun št. 5.pdf" and part.get_content() == b"%PDF-1.4 data"
    assert check_attachments([str(tmp_path / "missing.txt")]) == [f"{tmp_path / 'missing.txt'}: no such file"]
    assert "not a regular file" in check_attachments([str(tmp_path)])[0]
    assert "limit" in check_attachments([str(doc)], max_total=5)[0]
    with pytest.raises(AttachmentError, match="no such file"):
        to_bytes(_mail(attachments=[str(tmp_path / "nope")]))


def test_may_auto_answer_follows_rfc3834() -> None:
    assert may_auto_answer("") and may_auto_answer("no")
    assert not may_auto_answer("auto-replied") and not may_auto_answer("bounce") and not may_auto_answer("list")


# --- placeholders ------------------------------------------------------------------------------


def test_render_fills_whitelisted_names() -> None:
    result = render("Hi {{customer.first_name}}, re {{ ticket.id }}.", {"customer.first_name": "Ana",
                                                                         "ticket.id": "T-1"})  # fmt: skip
    assert result.ok and result.text == "Hi Ana, re T-1."


@pytest.mark.parametrize(
    ("template", "reason", "position"),
    [
        ("Hi {{customer.shoe_size}}!", "unknown placeholder", 3),
        ("Hi {{customer.first_name}}!", "no value", 3),
        ("Hi {{ customer.__class__ }}", "not a placeholder name", 3),
        ("Hi {{ a.b.c }}", "not a placeholder name", 3),
        ("Hi {{customer.name", "unmatched braces", 3),
        ("Hi }} there", "unmatched braces", 3),
        ("{{ {{customer.name}} }}", "not a placeholder name", 0),
    ],
)
def test_render_reports_problems_and_never_blanks(template: str, reason: str, position: int) -> None:
    result = render(template, {"customer.first_name": None, "customer.name": "Ana"})
    assert not result.ok
    assert reason in result.problems[0].reason and result.problems[0].position == position
    assert "{{" in result.text or "}}" in result.text  # the mistake stays visible, never blank


def test_leftover_finds_unfilled_placeholders() -> None:
    assert [p.placeholder for p in leftover("Dear {{customer.name}}, {{")] == ["{{customer.name}}", "{{"]
    assert leftover("all filled in") == []


# --- templates ---------------------------------------------------------------------------------


def test_defaults_search_language_first_and_crud(tmp_path: Path) -> None:
    db = Database.in_dir(tmp_path)
    with db.write() as conn:
        langs = {t.lang for t in tpl.all_templates(conn)}
        assert {"en", "sl", "hr", "ru"} <= langs
        hits = tpl.search(conn, "info", lang="hr")
        assert hits[0].lang == "hr" and {t.lang for t in hits} >= {"en", "sl", "ru"}
        assert tpl.search(conn, "racun") == []
        tpl.save(conn, "Refund approved", "Dear {{customer.name}}, refund done.", ["billing", "refund"], "en")
        assert tpl.search(conn, "rfnd")[0].name == "Refund approved"  # fuzzy: a subsequence of the name
        assert tpl.search(conn, "billing")[0].name == "Refund approved"
        tpl.save(conn, "Refund done", "Refunded.", ["billing"], "en", old_name="Refund approved")
        assert tpl.get(conn, "refund done").body == "Refunded."
        assert tpl.delete(conn, "Refund done") and tpl.delete(conn, "Solved, closing")
        names = {t.name for t in tpl.all_templates(conn)}
        tpl.ensure_defaults(conn)
        assert "Solved, closing" not in {t.name for t in tpl.all_templates(conn)} == names
        with pytest.raises(tpl.TemplateError):
            tpl.save(conn, "bad\nname", "x")
        with pytest.raises(tpl.TemplateError):
            tpl.save(conn, "ok", "x", lang="english")
    assert tpl.guess_language("Pozdravljeni, račun ne deluje, prosim pomagajte. Lp") == "sl"
    assert tpl.guess_language("Poštovani, trebam pomoć s narudžbom, hvala") == "hr"
    assert tpl.guess_language("Здравствуйте, не работает принтер") == "ru"
    assert tpl.guess_language("Hello, my order is not here, thanks") == "en"


def test_templates_export_import_round_trip_exact(tmp_path: Path) -> None:
    db = Database.in_dir(tmp_path / "a")
    tricky = "Line one\n\n  indented {{ customer.name }}\r\nCRLF kept\n---\nnot a header\n\n\n"
    with db.write() as conn:
        tpl.save(conn, "Odd: name / slash", tricky, ["a b", "ü"], "sl")
        tpl.save(conn, "odd name slash", "no trailing newline", [], "")
        before = [(t.name, t.body, t.tags, t.lang) for t in tpl.all_templates(conn)]
        written = tpl.export_dir(conn, tmp_path / "out")
    assert len(written) == len(before) and len({p.name for p in written}) == len(written)
    heads = sorted(p.read_bytes().split(b"\n")[1] for p in written if p.name.startswith("odd-name-slash"))
    assert heads == [b"name: Odd: name / slash", b"name: odd name slash"]
    other = Database.in_dir(tmp_path / "b")
    with other.write() as conn:
        for t in tpl.all_templates(conn):
            tpl.delete(conn, t.name)
        report = tpl.import_dir(conn, tmp_path / "out")
        assert report.problems == []
        after = [(t.name, t.body, t.tags, t.lang) for t in tpl.all_templates(conn)]
    assert after == before
    with other.write() as conn:
        again = tpl.export_dir(conn, tmp_path / "again")
    assert {p.name: p.read_bytes() for p in again} == {p.name: p.read_bytes() for p in written}


def test_template_import_reports_bad_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "plain.txt").write_text("Just a body {{agent.name}}")
    (folder / "broken.md").write_text("---\nname: X\nno closing line")
    (folder / "weird.md").write_text("---\nname: Y\ncolour: red\n---\nbody")
    (folder / "latin1.md").write_bytes("---\nname: Z\n---\nna\xefve".encode("latin-1"))
    (folder / "notes.json").write_text("{}")
    db = Database.in_dir(tmp_path)
    with db.write() as conn:
        report = tpl.import_dir(conn, folder)
        assert report.imported == ["plain"]
        assert tpl.get(conn, "plain").body == "Just a body {{agent.name}}"
    assert sorted(p.split(":")[0] for p in report.problems) == ["broken.md", "latin1.md", "weird.md"]
