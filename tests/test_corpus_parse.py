"""Every real-world message of the shared corpus (../shared/corpus) parses into a usable record.

The corpus (~390 messages from other mail parsers' test suites: broken MIME, legacy charsets,
bounces, spam) is read in place, never copied into the project. Beyond "no exception" a few
files have their decoded subject/sender pinned to values checked by hand against the raw bytes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tui_desk.mail.message import ParsedMessage
from tui_desk.mail.parse import extract_part, parse_message

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FILES = sorted((CORPUS / "fixtures").glob("**/*.eml")) if CORPUS.is_dir() else []


@pytest.fixture(scope="module", autouse=True)
def _corpus_present() -> None:
    if CORPUS.is_dir() and FILES:
        return
    if os.environ.get("CI"):
        pytest.fail(f"mail corpus missing at {CORPUS} (CI must run the corpus tests)", pytrace=False)
    pytest.skip(f"mail corpus not present at {CORPUS}")


_MIME_LINE = re.compile(r"^(?:--\S*|(?i:content-[\w-]+|mime-version):.*|\s+\S.*=.*)$")
_TAG = re.compile(r"<[^<>]*>")


def visible_body(raw: bytes) -> str:
    """What a human could read in the raw body: boundary lines, MIME part headers and HTML
    tags removed. Used to check that a message with no text and no attachments really is empty."""
    body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")[2].decode("latin-1")
    lines = [line for line in body.split("\n") if not _MIME_LINE.match(line)]
    return _TAG.sub("", "\n".join(lines)).strip()


def _id(path: Path) -> str:
    return str(path.relative_to(CORPUS / "fixtures"))


@pytest.mark.parametrize("path", FILES, ids=[_id(p) for p in FILES])
def test_corpus_message_parses_into_a_usable_record(path: Path) -> None:
    raw = path.read_bytes()
    m = parse_message(raw)
    assert not any(p.startswith("parser failed") for p in m.problems), m.problems
    assert isinstance(m.subject, str)
    assert m.from_addr.addr or m.from_addr.name
    assert m.message_id and m.date.tzinfo is not None
    assert m.size == len(raw) and len(m.content_hash) == 64
    assert len(m.snippet) <= 200
    if not m.text.strip() and not m.attachments:
        # Honest rule: an empty record is only allowed for a message whose body has nothing to read.
        assert visible_body(raw) == "", "no text and no attachments, but the raw body has content"
    for att in m.attachments[:20]:
        assert att.filename and "/" not in att.filename and "\\" not in att.filename
        assert isinstance(extract_part(raw, att.part_path), bytes)


# (file, subject, from name, from address) verified by hand against the raw bytes.
PINNED = [
    ("thunderbird/sample04.eml", "Алфавит", "Bug Reporter", "new@thunderbird.bug"),
    ("thunderbird/sample01.eml", "αλφάβητο", "Bug Reporter", "new@thunderbird.bug"),
    ("thunderbird/composition__charset-cp932.eml", "ここに本文がきます。", "", "from@example.org"),
    ("thunderbird/local__mailformed_subject.eml", "Rechnung Anwältin", "Eva C. Hammel", "pink_amaryllis@yahoo.de"),
    ("thunderbird/utf8MailboxStrings.eml", "Message for Bug 1919244", "Hörst, Kenny", "k.hoerst@invalid"),
    ("flanker/from-encoding.eml", "Re: running server as root (Was: Re: PUT method)", "Ingo Lütkebohle",
     "ingo@blank.pages.de"),
    ("flanker/bilingual-simple.eml", "Simple text. How are you? Как ты поживаешь?", "Hello", "hello@example.com"),
    ("phpmime/issue116.eml", "ЖД№41 от 28.09.2016", None, None),  # iso-2022-jp with NEC extensions
    ("phpmime/issue149.eml", "מענה 'אני לא נמצא': Invoice 02722027", "Name", "name@company.com"),
    ("phpmime/m0022.eml", "[PRJ-OTH] asdf  árvíztűrő tükörfúrógép", "sendeär", "sender@test.com"),
    ("rubymail/error_emails__invalid_subject_characters.eml",  # raw windows-1252 subject
     "Formação FrenetikPolis: Mega Campanha Final Verão | Cursos de Setembro", "Formação Frenetikpolis",
     "info@formacaofrenetik.info"),
    ("rubymail/rfc6532__utf8_headers.eml", "Säying Hello", "Jöhn Doe", "jdöe@mächine.example"),
    ("rubymail/plain_emails__raw_email_incorrect_header.eml",  # junk line inside the header block
     "Stop adware/spyware once and for all.", "xxx xxx", "xxx@xxx.xxx"),
    ("rubymail/rfc2822__example13.eml", "Saying Hello", None, "jdoe@machine.example"),  # "From  :" obsolete syntax
    ("spamscope/mail_test_6.eml", "Быстрее вкладывайте в золото!", "Время пришло", "noreply@ggg.com"),
    ("zbateson/m1011.eml", "Die Hasen und die Frösche", "Doug Sauder", "dwsauder@example.com"),  # raw UTF-7 header
]  # fmt: skip


@pytest.mark.parametrize(("name", "subject", "from_name", "from_addr"), PINNED, ids=[p[0] for p in PINNED])
def test_pinned_decoding(name: str, subject: str, from_name: str | None, from_addr: str | None) -> None:
    m = parse_message((CORPUS / "fixtures" / name).read_bytes())
    assert m.subject == subject
    if from_name is not None:
        assert m.from_addr.name == from_name
    if from_addr is not None:
        assert m.from_addr.addr == from_addr


def _parse(name: str) -> ParsedMessage:
    return parse_message((CORPUS / "fixtures" / name).read_bytes())


def test_pinned_bodies_and_attachments() -> None:
    assert _parse("thunderbird/message-reader__wronglyDeclaredUTF8.eml").text.startswith("メールを簡単に。")
    assert _parse("thunderbird/message-reader__wronglyDeclaredShift_JIS.eml").text.startswith("メールを簡単に。")
    assert _parse("thunderbird/message-reader__noCharsetKOI8U.eml").text.startswith("Моя семья")
    assert _parse("thunderbird/message-reader__noCharsetWindows1252.eml").text.startswith(
        "Aquí tenemos texto en español"
    )
    assert _parse("thunderbird/composition__body-utf16.eml").text.startswith("Hi Magnus")
    assert _parse("rubymail/multi_charset__ks_c_5601-1987.eml").text == "스티해"
    big5 = _parse("rubymail/error_emails__content_transfer_encoding_empty.eml")  # Big5 read as latin-1, re-encoded
    assert "大家說英語 每日聽MP3" in big5.subject
    assert [a.original_filename for a in _parse("enmime/testdata__mail__mime-bad-8bit-filename.eml").attachments] == [
        "管理.doc"
    ]
    yahoo = _parse("flanker/russian-attachment-yahoo.eml").attachments[0]
    assert yahoo.original_filename.startswith("Картинка с очень, очень длинным")
    tnef = _parse("zbateson/m4006.eml").attachments[0]
    assert (tnef.filename, tnef.content_type) == ("winmail.dat", "application/ms-tnef")
    outlook_msg = _parse("spamscope/mail_outlook_1.eml")  # a binary Outlook .msg, not RFC 822 at all
    assert outlook_msg.text == "" and outlook_msg.attachments[0].content_type == "application/octet-stream"


def test_pinned_machine_mail() -> None:
    assert _parse("phpmime/issue212.eml").auto_submitted == "auto-replied"  # "Automatyczna odpowiedź: ..."
    assert _parse("flanker/bounce__office365.eml").auto_submitted == "bounce"
    assert _parse("rubymail/multipart_report_emails__report_530.eml").auto_submitted == "bounce"
    assert _parse("flanker/disposition-notification.eml").auto_submitted == "auto-generated"
    assert _parse("rubymail/plain_emails__basic_email.eml").auto_submitted == ""
    assert _parse("thunderbird/local__mailformed_subject.eml").auto_submitted == ""
