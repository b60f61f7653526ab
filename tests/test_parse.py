"""parse_message / extract_part on small hand-made messages: charsets, structure, identity, robots."""

from __future__ import annotations

import base64
import quopri
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tui_desk.mail.message import ParsedMessage
from tui_desk.mail.parse import UNKNOWN_SENDER, extract_part, parse_message

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
INTERNAL = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SL = "Pozdravljeni, pošiljam račun za september. Lep pozdrav, Žiga Čeh in Đurđa Šušteršič (ČĆŽŠĐ)."
HR = "Poštovani, molim vas račun. Hvala, Đuro Šimić iz Zagreba. Čekam odgovor što prije (ČĆŽŠĐ)."
RU = "Здравствуйте! Прошу прислать счёт за сентябрь. Спасибо, с уважением, Иван Петров."


def mail(*headers: str | bytes, body: bytes | str = b"Hello.\n", crlf: bool = False) -> bytes:
    """A raw message from header lines ("Name: value", str or raw bytes) and a body."""
    lines = [h.encode("utf-8") if isinstance(h, str) else h for h in headers]
    raw = b"\n".join(lines) + b"\n\n" + (body.encode("utf-8") if isinstance(body, str) else body)
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def ew(text: str, charset: str, enc: str = "B") -> str:
    """An RFC 2047 encoded-word."""
    data = text.encode(charset)
    if enc == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    q = "".join(chr(b) if 48 <= b < 123 and chr(b).isalnum() else ("_" if b == 32 else f"={b:02X}") for b in data)
    return f"=?{charset}?Q?{q}?="


BASIC = ("From: Ana <ana@example.si>", "To: podpora@example.com", "Date: Mon, 1 Jul 2024 10:00:00 +0200")


def parse(raw: bytes, **kwargs: datetime) -> ParsedMessage:
    return parse_message(raw, internaldate=kwargs.get("internaldate", INTERNAL), file_time=kwargs.get("file_time"))


# --- charsets ----------------------------------------------------------------------------------


def test_koi8r_subject_encoded_word() -> None:
    m = parse(mail(*BASIC, "Subject: " + ew("Проблема с принтером", "koi8-r")))
    assert m.subject == "Проблема с принтером"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (ew("Račun ", "utf-8") + ew("št. 5", "utf-8"), "Račun št. 5"),  # adjacent, no space
        (ew("Račun", "utf-8") + " \r\n " + ew(" št. 5", "utf-8"), "Račun št. 5"),  # folded between words
        ("Re: " + ew("Čćž", "iso-8859-2", "Q") + " and more", "Re: Čćž and more"),
        ("=?utf-8?B?xb1pZ2E?=", "Žiga"),  # missing padding
        ("=?utf-8?B?xb1pZ2E===?=", "Žiga"),  # too much padding
        ("=?UTF-8?q?=C5=BDiga?=", "Žiga"),  # lower-case q
        ("=?utf-8*sl?Q?=C5=BDiga?=", "Žiga"),  # RFC 2231 language suffix
        ("=?x-unknown?Q?=C5=BDiga?=", "Žiga"),  # unknown charset: chain
        ("=?utf-8?B?!!!?= stays", "=?utf-8?B?!!!?= stays"),  # undecodable word kept literally
    ],
)
def test_encoded_word_variants(header: str, expected: str) -> None:
    assert parse(mail(*BASIC, "Subject: " + header)).subject == expected


def test_multibyte_character_split_across_encoded_words() -> None:
    data = "Žluťoučký kůň".encode()
    first = base64.b64encode(data[:5]).decode()  # ends inside "ť"
    second = base64.b64encode(data[5:]).decode()
    m = parse(mail(*BASIC, f"Subject: =?utf-8?B?{first}?= =?utf-8?B?{second}?="))
    assert m.subject == "Žluťoučký kůň"


@pytest.mark.parametrize(("charset", "text"), [("windows-1250", SL), ("iso-8859-2", SL), ("windows-1250", HR),
                                               ("iso-8859-2", HR), ("koi8-r", RU), ("windows-1251", RU)])  # fmt: skip
def test_declared_legacy_body_charsets(charset: str, text: str) -> None:
    raw = mail(*BASIC, "Subject: x", f"Content-Type: text/plain; charset={charset}", body=text.encode(charset))
    m = parse(raw)
    assert m.text == text
    assert not m.problems


@pytest.mark.parametrize(("codec", "text"), [("cp1251", RU), ("koi8-r", RU), ("cp1250", SL), ("iso-8859-2", SL)])
def test_undeclared_8bit_body(codec: str, text: str) -> None:
    m = parse(mail(*BASIC, "Subject: x", body=text.encode(codec)))
    assert m.text == text


@pytest.mark.parametrize(
    ("declared", "codec", "text"),
    [
        ("iso-8859-1", "utf-8", "Grüße aus Ljubljane, Žiga"),  # says latin-1, is UTF-8
        ("utf-8", "cp1250", SL),  # says UTF-8, is windows-1250
        ("x-no-such-charset", "cp1251", RU),  # unknown label
        ("us-ascii", "cp1250", SL),  # 7-bit label, 8-bit content
        ("latin1", "cp1252", "It’s “quoted” – and costs 5 €"),  # latin1 with 0x80-0x9f
    ],
)
def test_mislabelled_charsets(declared: str, codec: str, text: str) -> None:
    raw = mail(*BASIC, "Subject: x", f'Content-Type: text/plain; charset="{declared}"', body=text.encode(codec))
    assert parse(raw).text == text


@pytest.mark.parametrize(
    ("declared", "codec", "text"),
    [
        ("ks_c_5601-1987", "cp949", "안녕하세요, 프린터가 고장났습니다."),
        ("gb2312", "gb18030", "您好，我的打印机坏了，请帮忙处理。"),
        ("iso-8859-8-i", "iso-8859-8", "שלום, המדפסת שלי מקולקלת"),
        ("utf8", "utf-8", "Žiga 👍"),
        ("cp-1250", "cp1250", SL),
        ("x-unknown", "utf-8", "Žiga Čeh"),
        ("unknown-8bit", "cp1251", RU),
        ("iso-2022-jp", "iso2022_jp", "請求書についてのお問い合わせ"),
        ("shift_jis", "cp932", "①請求書について"),
    ],
)
def test_charset_aliases(declared: str, codec: str, text: str) -> None:
    raw = mail(*BASIC, "Subject: x", f"Content-Type: text/plain; charset={declared}", body=text.encode(codec))
    assert parse(raw).text == text


def test_undeclared_8bit_headers_use_utf8_then_body_charset() -> None:
    utf8_subject = mail(*BASIC, "Subject: Račun št. 5".encode(), body="plain")
    assert parse(utf8_subject).subject == "Račun št. 5"
    raw = mail(
        b"From: " + "Žiga Čeh".encode("cp1250") + b" <ziga@example.si>",
        b"Subject: " + "Težava s tiskalnikom".encode("cp1250"),
        "Content-Type: text/plain; charset=windows-1250",
        body=SL.encode("cp1250"),
    )
    m = parse(raw)
    assert m.subject == "Težava s tiskalnikom"
    assert m.from_addr.name == "Žiga Čeh"
    koi = mail(b"Subject: " + "Проблема с принтером".encode("koi8-r"), "From: a@b.c", body=b"x")
    assert parse(koi).subject == "Проблема с принтером"  # no body hint: detection


def test_utf16_and_bom_bodies() -> None:
    raw = mail(*BASIC, "Content-Type: text/plain; charset=utf-16", body="Žiga".encode("utf-16"))
    assert parse(raw).text == "Žiga"
    bom8 = mail(*BASIC, "Content-Type: text/plain; charset=iso-8859-1", body=b"\xef\xbb\xbf" + "Žiga".encode())
    assert parse(bom8).text == "Žiga"


# --- RFC 2231 and attachment names ----------------------------------------------------------------


def attachment_mail(disposition: str, payload: bytes = b"data", ctype: str = "application/pdf") -> bytes:
    return mail(
        *BASIC, "Subject: files", 'Content-Type: multipart/mixed; boundary="b"',
        body=(f"--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: {ctype}\n"
              f"Content-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\n"
              f"{base64.b64encode(payload).decode()}\n--b--\n"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("disposition", "original"),
    [
        ("attachment; filename*=utf-8''Ra%C4%8Dun%20%C5%A1t.%205.pdf", "Račun št. 5.pdf"),
        ("attachment; filename*=iso-8859-2'sl'Ra%E8un%20%B9t.%205.pdf", "Račun št. 5.pdf"),
        ("attachment;\n filename*0*=iso-8859-2''Ra%E8un%20;\n filename*1*=%B9t.;\n filename*2=\" 5.pdf\"", "Račun št. 5.pdf"),
        ('attachment; filename="=?utf-8?Q?Ra=C4=8Dun_=C5=A1t=2E_5=2Epdf?="', "Račun št. 5.pdf"),
        ('attachment; filename="report (final).pdf"', "report (final).pdf"),
        ("attachment; filename=unquoted name.pdf", "unquoted name.pdf"),
    ],
)
def test_attachment_filename_decoding(disposition: str, original: str) -> None:
    m = parse(attachment_mail(disposition))
    [att] = m.attachments
    assert att.original_filename == original
    assert att.filename == original
    assert att.part_path == "2"
    assert att.size == 4
    assert att.content_type == "application/pdf"


def test_raw_8bit_filename() -> None:
    raw = attachment_mail("attachment").replace(
        b"Content-Disposition: attachment", b'Content-Disposition: attachment; filename="' + "Račun.pdf".encode("cp1250") + b'"'
    )
    assert parse(raw).attachments[0].original_filename == "Račun.pdf"


def test_path_traversal_attachment_name() -> None:
    m = parse(attachment_mail('attachment; filename="../../etc/passwd"', b"root:x:0:0"))
    [att] = m.attachments
    assert att.original_filename == "../../etc/passwd"
    assert att.filename == "passwd"
    assert extract_part(attachment_mail('attachment; filename="../../etc/passwd"', b"root:x:0:0"), "2") == b"root:x:0:0"


def test_attachment_without_name_gets_one() -> None:
    [att] = parse(attachment_mail("attachment")).attachments
    assert att.filename == "part-2.pdf"


def test_tnef_is_an_attachment() -> None:
    m = parse(attachment_mail("attachment", b"\x78\x9f\x3e\x22tnef", "application/ms-tnef"))
    [att] = m.attachments
    assert (att.filename, att.content_type) == ("winmail.dat", "application/ms-tnef")
    assert m.text == "see attached"


# --- structure ----------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\nfake-image"
STRUCTURE = mail(
    *BASIC, "Subject: structure", 'Content-Type: multipart/mixed; boundary="m"',
    body=f"""preamble
--m
Content-Type: multipart/alternative; boundary="a"

--a
Content-Type: text/plain; charset=utf-8

Plain text body, Žiga.
--a
Content-Type: multipart/related; boundary="r"

--r
Content-Type: text/html; charset=utf-8

<html><head><style>p {{ color: red }}</style><script>alert("x")</script></head>
<body><p>HTML <b>body</b>, &#381;iga.</p><img src="cid:logo@x"></body></html>
--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

{base64.b64encode(PNG).decode()}
--r--
--a--
--m
Content-Type: application/pdf; name="doc.pdf"
Content-Disposition: attachment; filename="doc.pdf"
Content-Transfer-Encoding: base64

{base64.b64encode(b"%PDF-1.4 fake").decode()}
--m
Content-Type: message/rfc822

From: =?utf-8?Q?Bo=C5=A1tjan?= <bostjan@example.si>
Subject: =?utf-8?Q?Prvotno_sporo=C4=8Dilo?=
Date: Sun, 30 Jun 2024 09:00:00 +0200
Content-Type: multipart/mixed; boundary="i"

--i
Content-Type: text/plain

Inner text.
--i
Content-Type: text/csv
Content-Disposition: attachment; filename="data.csv"

a,b
1,2
--i--
--m--
""",
)  # fmt: skip


def test_part_paths_follow_imap_numbering() -> None:
    m = parse(STRUCTURE)
    assert [(a.part_path, a.filename, a.content_type) for a in m.attachments] == [
        ("1.2.2", "part-1.2.2.png", "image/png"),
        ("2", "doc.pdf", "application/pdf"),
        ("3", "Prvotno sporočilo.eml", "message/rfc822"),
        ("3.2", "data.csv", "text/csv"),
    ]
    logo = m.attachments[0]
    assert (logo.content_id, logo.inline, logo.size) == ("logo@x", True, len(PNG))
    assert m.attachments[1].inline is False


def test_extract_part_returns_decoded_payloads() -> None:
    assert extract_part(STRUCTURE, "1.2.2") == PNG
    assert extract_part(STRUCTURE, "2") == b"%PDF-1.4 fake"
    assert extract_part(STRUCTURE, "3.2").replace(b"\r\n", b"\n") == b"a,b\n1,2"
    inner = parse(extract_part(STRUCTURE, "3"))
    assert inner.subject == "Prvotno sporočilo"
    assert inner.from_addr.name == "Boštjan"
    assert extract_part(STRUCTURE, "1.1").startswith(b"Plain text body")
    for bad in ("9", "1.9", "2.1", "0", "x", "", "1..2"):
        with pytest.raises(KeyError):
            extract_part(STRUCTURE, bad)


def test_alternative_prefers_plain_and_keeps_html_text() -> None:
    m = parse(STRUCTURE)
    assert m.text.startswith("Plain text body, Žiga.")
    assert m.has_html
    assert "HTML body, Žiga." in m.html_text
    assert "alert" not in m.html_text and "color" not in m.html_text
    assert "HTML body" not in m.text


def test_forwarded_message_gets_header_block_text_and_attachments() -> None:
    m = parse(STRUCTURE)
    assert "---------- Forwarded message ----------" in m.text
    assert "From: Boštjan <bostjan@example.si>" in m.text
    assert "Subject: Prvotno sporočilo" in m.text
    assert "Inner text." in m.text


def test_forwarded_fixture_with_legacy_charsets() -> None:
    raw = (FIXTURES / "forwarded-nested.eml").read_bytes()
    m = parse(raw)
    assert m.subject == "Fwd: Težava s računom"
    assert "From: Boštjan Kržič <bostjan@example.si>" in m.text
    assert "Račun št. 42 ni pravilen" in m.text
    assert [(a.part_path, a.original_filename) for a in m.attachments] == [
        ("2", "Težava s računom.eml"),
        ("2.2", "Račun 42.pdf"),
    ]
    assert extract_part(raw, "2.2") == b"%PDF-1.4\n% fake pdf for tests\n"


def test_html_only_mail() -> None:
    html = (
        "<html><head><title>T</title><style>.x{color:red}</style><script>evil()</script></head>"
        "<body><h1>Naročilo</h1><p>Pozdravljeni,<br>vaše naročilo je <b>poslano</b> &amp; plačano.</p>"
        "<ul><li>ena</li><li>dva</li></ul></body></html>"
    )
    m = parse(mail(*BASIC, "Subject: html", "Content-Type: text/html; charset=utf-8", body=html))
    assert m.has_html
    assert m.text == m.html_text
    assert "Naročilo" in m.text and "poslano & plačano" in m.text and "ena" in m.text
    assert "evil" not in m.text and "color" not in m.text and "<" not in m.text
    assert m.snippet.startswith("Naročilo")


def test_hostile_html_is_capped_and_survives_deep_nesting() -> None:
    huge = "<p>" + "blah " * 700_000  # 3.5 MB
    deep = "<div>" * 200_000 + "deep text" + "</div>" * 200_000
    for html in (huge, deep):
        start = time.perf_counter()
        m = parse(mail(*BASIC, "Content-Type: text/html", body=html))
        assert time.perf_counter() - start < 30
        assert m.text
    assert any("HTML longer than" in p for p in parse(mail(*BASIC, "Content-Type: text/html", body=huge)).problems)
    assert "deep text" in parse(mail(*BASIC, "Content-Type: text/html", body=deep)).text


def test_multipart_report_bounce() -> None:
    raw = mail(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>", "To: podpora@example.com",
        "Subject: Undelivered Mail Returned to Sender", "Date: Mon, 1 Jul 2024 10:00:00 +0000",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
        body="""--r
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; nobody@example.org
Action: failed
Status: 5.1.1
--r
Content-Type: message/rfc822

From: podpora@example.com
Subject: Your ticket

Original text that must not be merged into the bounce text.
--r--
""",
    )  # fmt: skip
    m = parse(raw)
    assert m.auto_submitted == "bounce"
    assert m.text.startswith("I'm sorry to have to inform you")
    assert "Original text" not in m.text
    assert [a.content_type for a in m.attachments] == ["message/delivery-status", "message/rfc822"]
    assert b"Status: 5.1.1" in extract_part(raw, "2")


def test_broken_structures_keep_text() -> None:
    no_boundary = mail(*BASIC, "Content-Type: multipart/mixed", body="just some text\n")
    m = parse(no_boundary)
    assert "just some text" in m.text and any("boundary" in p for p in m.problems)
    missing_close = mail(*BASIC, 'Content-Type: multipart/mixed; boundary="b"', body="--b\n\nfirst part\n--b\n\nsecond")
    assert "first part" in parse(missing_close).text and "second" in parse(missing_close).text
    wrong_boundary = mail(*BASIC, 'Content-Type: multipart/mixed; boundary="b"', body="--other\n\ntext\n--other--\n")
    assert "text" in parse(wrong_boundary).text
    no_ctype = mail(*BASIC, body="Plain old message\n")
    assert parse(no_ctype).text == "Plain old message"


def test_transfer_encoding_errors() -> None:
    good = base64.b64encode("Žiga Čeh piše".encode()).decode()
    for broken in (good.rstrip("="), good + "=====", good[:10] + "\n!!\n" + good[10:], good[:-1]):
        raw = mail(*BASIC, "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", body=broken)
        assert parse(raw).text.startswith("Žiga")
    qp = quopri.encodestring("Račun za 5 € – hvala".encode()).decode()
    raw = mail(*BASIC, "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable",
               body=qp + "=ZZ bad escape =\n")  # fmt: skip
    assert parse(raw).text.startswith("Račun za 5 € – hvala=ZZ bad escape")
    odd = mail(*BASIC, "Content-Transfer-Encoding: x-made-up", body="still text")
    assert parse(odd).text == "still text"


def test_binary_in_text_part_becomes_attachment() -> None:
    m = parse(mail(*BASIC, "Content-Type: text/plain", body=bytes(range(256)) * 20))
    assert m.text == ""
    assert [a.content_type for a in m.attachments] == ["application/octet-stream"]
    assert any("binary" in p for p in m.problems)


# --- dates ------------------------------------------------------------------------------------


def test_date_header_is_parsed_to_utc() -> None:
    m = parse(mail("From: a@b.c", "Date: Mon, 1 Jul 2024 10:00:00 +0200"))
    assert (m.date, m.date_source) == (datetime(2024, 7, 1, 8, 0, tzinfo=UTC), "header")
    assert m.date.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 1 Jul 2024 10:00:00 +0200 (CEST)", datetime(2024, 7, 1, 8, 0, tzinfo=UTC)),
        ("1 Jul 2024 10:00 CEST", datetime(2024, 7, 1, 8, 0, tzinfo=UTC)),
        ("2024-07-01T10:00:00+02:00", datetime(2024, 7, 1, 8, 0, tzinfo=UTC)),
        ("01.07.2024 10:00", datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),
        ("Mon, 1 Jul 24 10:00:00 GMT", datetime(2024, 7, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_tolerant_date_formats(value: str, expected: datetime) -> None:
    assert parse(mail("From: a@b.c", f"Date: {value}")).date == expected


@pytest.mark.parametrize(
    "headers",
    [(), ("Date: yesterday-ish",), ("Date: Thu, 1 Jan 1970 00:00:00 +0000",), ("Date: Fri, 1 Jan 2100 00:00:00 +0000",),
     ("Date:",)],
    ids=["missing", "junk", "epoch", "future", "empty"],
)  # fmt: skip
def test_unusable_date_falls_back_to_internaldate(headers: tuple[str, ...]) -> None:
    m = parse(mail("From: a@b.c", *headers))
    assert (m.date, m.date_source) == (INTERNAL, "internaldate")
    assert any("Date header" in p for p in m.problems)


def test_date_fallback_chain() -> None:
    raw = mail("From: a@b.c")
    file_time = datetime(2023, 5, 5, 5, 5, tzinfo=timezone(timedelta(hours=2)))
    m = parse_message(raw, file_time=file_time)
    assert (m.date, m.date_source) == (datetime(2023, 5, 5, 3, 5, tzinfo=UTC), "file")
    m = parse_message(raw, internaldate=datetime(2024, 1, 2, 3, 4))  # naive: taken as UTC
    assert (m.date, m.date_source) == (datetime(2024, 1, 2, 3, 4, tzinfo=UTC), "internaldate")
    before = datetime.now(UTC)
    m = parse_message(raw, internaldate=datetime(1980, 1, 1, tzinfo=UTC))
    assert m.date_source == "now" and m.date >= before and m.date.tzinfo is not None


# --- identity ---------------------------------------------------------------------------------


def test_message_id_is_stripped() -> None:
    m = parse(mail("From: a@b.c", "Message-ID:   <Abc.123@Example.COM>  "))
    assert (m.message_id, m.message_id_synthetic) == ("Abc.123@Example.COM", False)
    assert parse(mail("From: a@b.c", "Message-Id: bare-id@example.com")).message_id == "bare-id@example.com"


@pytest.mark.parametrize("header", [None, "Message-ID:", "Message-ID: <>", "Message-ID: <  >", "Message-ID: \x01\x02"])
def test_missing_or_garbage_message_id_gets_stable_synthetic_id(header: str | None) -> None:
    headers = ["From: Ana <ana@example.si>", "Date: Mon, 1 Jul 2024 10:00:00 +0200", "Subject: Pomoč"]
    if header:
        headers.append(header)
    first = parse(mail(*headers, body="Body one\n"))
    again = parse(mail(*headers, body="Body one\n"))
    over_imap = parse(mail("Received: by imap.example.com", *headers, body="Body one\n", crlf=True))
    other = parse(mail(*headers, body="Body two\n"))
    assert first.message_id_synthetic
    assert first.message_id.startswith("synthetic-") and first.message_id.endswith("@tui-desk.invalid")
    assert len(first.message_id) == len("synthetic-") + 32 + len("@tui-desk.invalid")
    assert first.message_id == again.message_id == over_imap.message_id
    assert other.message_id != first.message_id


def test_in_reply_to_and_references_are_tolerant() -> None:
    m = parse(
        mail(
            "From: a@b.c",
            'In-Reply-To: "Your message of Monday" <one@x.com> (comment)',
            "References: <root@x.com> junk <one@x.com>\n <root@x.com>,<two@x.com> <one@x.com>",
        )
    )
    assert m.in_reply_to == ["one@x.com"]
    assert m.references == ["root@x.com", "one@x.com", "two@x.com"]
    bare = parse(mail("From: a@b.c", "In-Reply-To: one@x.com", "References: root@x.com one@x.com root@x.com"))
    assert (bare.in_reply_to, bare.references) == (["one@x.com"], ["root@x.com", "one@x.com"])
    assert parse(mail("From: a@b.c", "In-Reply-To:", "References: <>")).references == []


def test_content_hash_ignores_line_endings_and_trailing_whitespace() -> None:
    lf = mail(*BASIC, "Subject: x", body="line one\nline two\n")
    crlf = mail(*BASIC, "Subject: x", body="line one\nline two\n", crlf=True)
    assert parse(lf).content_hash == parse(crlf).content_hash == parse(lf + b"\n\n  \n").content_hash
    assert parse(lf).content_hash != parse(lf.replace(b"two", b"2")).content_hash
    assert parse(lf).size == len(lf) and parse(crlf).size == len(crlf)


# --- addresses --------------------------------------------------------------------------------


def test_addresses_are_decoded_and_lower_cased() -> None:
    m = parse(
        mail(
            "From: " + ew("Žiga Čeh", "utf-8") + " <Ziga.Ceh@Example.SI>",
            'To: "=?utf-8?Q?Pe=C5=A1ec?=" <PODPORA@example.com>, second@example.com',
            "Cc: =?utf-8?Q?Novak=2C_Ana?= <ana@example.si>",
            "Reply-To: <Reply@Example.com>",
        )
    )
    assert (m.from_addr.name, m.from_addr.addr) == ("Žiga Čeh", "ziga.ceh@example.si")
    assert [(a.name, a.addr) for a in m.to] == [("Pešec", "podpora@example.com"), ("", "second@example.com")]
    assert [(a.name, a.addr) for a in m.cc] == [("Novak, Ana", "ana@example.si")]  # encoded comma: one address
    assert [a.addr for a in m.reply_to] == ["reply@example.com"]


@pytest.mark.parametrize(
    ("headers", "name", "addr"),
    [
        (("Sender: Desk <desk@example.com>",), "Desk", "desk@example.com"),
        (("From:", "Return-Path: <bounce@example.com>"), "", "bounce@example.com"),
        (("Return-Path: <>",), UNKNOWN_SENDER, ""),
        ((), UNKNOWN_SENDER, ""),
        (("From: Undisclosed sender",), "Undisclosed sender", ""),
        (('From: "unbalanced <ana@example.si>',), "unbalanced", "ana@example.si"),
        (("From: <<<>>>@@@",), UNKNOWN_SENDER, ""),
    ],
)
def test_sender_fallbacks(headers: tuple[str, ...], name: str, addr: str) -> None:
    m = parse(mail(*headers))
    assert (m.from_addr.name, m.from_addr.addr) == (name, addr)


# --- snippet ----------------------------------------------------------------------------------


def test_snippet_skips_quotes_and_collapses_whitespace() -> None:
    body = "> quoted line\n>> more quote\nHvala   za\n\n  odgovor!\n\tLp\n" + "x" * 500
    m = parse(mail(*BASIC, body=body))
    assert m.snippet.startswith("Hvala za odgovor! Lp x")
    assert len(m.snippet) == 200
    only_quotes = parse(mail(*BASIC, body="> all\n> quoted\n"))
    assert only_quotes.snippet == "> all > quoted"


# --- machine mail -------------------------------------------------------------------------------

NORMAL = ("From: Customer <customer@example.org>", "To: podpora@example.com", "Date: Mon, 1 Jul 2024 10:00:00 +0200")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (("Subject: Invoice", "Auto-Submitted: auto-replied"), "auto-replied"),
        (("Subject: Invoice", "Auto-Submitted: auto-generated; owner=x"), "auto-generated"),
        (("Subject: Invoice", "X-Autoreply: yes"), "auto-replied"),
        (("Subject: Invoice", "X-Autorespond: Vacation"), "auto-replied"),
        (("Subject: Invoice", "Precedence: auto_reply"), "auto-replied"),
        (("Subject: Newsletter", "Precedence: bulk"), "bulk"),
        (("Subject: Newsletter", "Precedence: junk"), "bulk"),
        (("Subject: Re: bug", "Precedence: list"), "list"),
        (("Subject: Re: bug", "List-Id: Dev list <dev.lists.example.org>"), "list"),
        (("Subject: Offer", "List-Unsubscribe: <mailto:unsub@example.org>"), "bulk"),
        (("Subject: Failure", "Return-Path: <>"), "bounce"),
        (("Subject: Out of Office: Invoice",), "auto-replied"),
        (("Subject: Automatic reply: Invoice",), "auto-replied"),
        (("Subject: Autoreply: Invoice",), "auto-replied"),
        (("Subject: Abwesenheitsnotiz: Rechnung",), "auto-replied"),
        (("Subject: Samodejni odgovor: Račun",), "auto-replied"),
        (("Subject: Odsotnost: Račun",), "auto-replied"),
        (("Subject: Automatski odgovor: Račun",), "auto-replied"),
        (("Subject: Odsutan: Račun",), "auto-replied"),
        (("Subject: Автоматический ответ: Счёт",), "auto-replied"),
        (("Subject: Вне офиса: до 5 мая",), "auto-replied"),
        (("Subject: " + ew("Samodejni odgovor: Račun", "utf-8"),), "auto-replied"),
        (("Subject: Odsutan sam do ponedjeljka", "X-Auto-Response-Suppress: All"), "auto-replied"),
        (("Subject: I am out of the office", "Return-Path: <>"), "auto-replied"),
    ],
)
def test_machine_mail_is_detected(headers: tuple[str, ...], expected: str) -> None:
    assert parse(mail(*NORMAL, *headers)).auto_submitted == expected


@pytest.mark.parametrize(
    "headers",
    [
        ("Subject: Printer broken, please help",),
        ("Subject: Re: Automatic reply not working on your site",),
        ("Subject: Out of office printer does not print",),
        ("Subject: My colleague is odsoten, who can help?",),
        ("Subject: Meeting", "X-Auto-Response-Suppress: All"),  # Outlook sets this on ordinary mail too
        ("Subject: Invoice", "Auto-Submitted: no"),
        ("Subject: Invoice", "Precedence: normal"),
        ("Subject: Auto - Reparatur",),
    ],
)
def test_normal_customer_mail_is_not_machine_mail(headers: tuple[str, ...]) -> None:
    assert parse(mail(*NORMAL, *headers)).auto_submitted == ""


def test_bounce_senders_and_delivery_status() -> None:
    assert parse(mail("From: MAILER-DAEMON@mx.example.com", "Subject: x")).auto_submitted == "bounce"
    assert parse(mail("From: postmaster@example.com", "Subject: x")).auto_submitted == "bounce"
    dsn = mail(*NORMAL, "Subject: x", "Content-Type: message/delivery-status", body="Action: failed\n")
    assert parse(dsn).auto_submitted == "bounce"


def test_outlook_autoreply_fixture() -> None:
    m = parse((FIXTURES / "outlook-autoreply-sl.eml").read_bytes())
    assert m.subject == "Samodejni odgovor: Račun št. 42"
    assert (m.from_addr.name, m.from_addr.addr) == ("Špela Đurić", "spela.duric@example.si")
    assert m.auto_submitted == "auto-replied"
    assert "pokličite Žigo Čeha" in m.text
    assert m.in_reply_to == ["ticket-42@example.com"]
    assert m.headers["auto-submitted"] == "auto-replied"
    assert m.headers["x-auto-response-suppress"] == "All"
    assert m.headers["return-path"] == "<>"
    assert m.date == datetime(2025, 8, 4, 7, 0, tzinfo=UTC)


def test_headers_dict_and_list_id() -> None:
    m = parse(
        mail(
            *NORMAL,
            "Subject: x",
            "List-Id: " + ew("Podpora", "utf-8") + " <podpora.lists.example.com>",
            "List-Unsubscribe: <mailto:leave@example.com>",
            "X-TuiDesk-Ticket: " + ew("T-42 Čć", "utf-8"),
            "X-Other: ignored",
        )
    )
    assert m.headers == {
        "list-id": "Podpora <podpora.lists.example.com>",
        "list-unsubscribe": "<mailto:leave@example.com>",
        "x-tuidesk-ticket": "T-42 Čć",
    }
    assert m.list_id == "podpora.lists.example.com"
    assert m.auto_submitted == "list"


# --- never raises -----------------------------------------------------------------------------


def nested_multipart(depth: int) -> bytes:
    head = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth))
    tail = b"".join(b"--b%d--\n" % i for i in range(depth, -1, -1))
    return b"Content-Type: multipart/mixed; boundary=b0\n\n" + head + b"--b%d\n\ninnermost\n" % depth + tail


def garbage_inputs() -> list[tuple[str, bytes]]:
    rng = random.Random(1234)
    cases = [
        ("empty", b""),
        ("newlines", b"\n\n\n"),
        ("crlf-only", b"\r\n" * 100),
        ("nul", b"\x00" * 1000),
        ("esc-1mb", b"\x1b" * 1_000_000),
        ("esc-headers", b"Subject: \x1b]0;pwned\x07\nFrom: \x1b[31m<a@b>\n\n\x1b[2J"),
        ("nested-50", nested_multipart(50)),
        ("nested-2000", nested_multipart(2000)),
        ("header-no-body", b"From: a@b.c\nSubject: x"),
        ("long-header", b"Subject: " + b"x" * 2_000_000 + b"\n\nbody"),
        ("many-parts", b"Content-Type: multipart/mixed; boundary=z\n\n" + b"--z\n\npart\n" * 5000 + b"--z--"),
        ("bad-utf8", b"Subject: \xff\xfe\xc3\n\n\xff\xfe\xfd\xc3\x28"),
        ("bad-ctype", b"Content-Type: ;;;==;\"\nContent-Disposition: attachment; filename*0*=x'y'%ZZ\n\nx"),
        ("encoded-garbage", b"Subject: =?=?=??==?B?=?utf-8?B?====?=\nFrom: =?x?Q?=?=\n\n"),
        ("rfc822-loop", b"Content-Type: message/rfc822\n\n" * 200 + b"end"),
        ("base64-rfc822", b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!notbase64"),
    ]
    cases += [(f"random-{i}", rng.randbytes(rng.randint(1, 65536))) for i in range(20)]
    cases += [(f"random-lines-{i}", b"\n".join(rng.randbytes(40) for _ in range(200))) for i in range(5)]
    return cases


@pytest.mark.parametrize(("name", "raw"), garbage_inputs(), ids=[name for name, _ in garbage_inputs()])
def test_garbage_never_raises(name: str, raw: bytes) -> None:
    m = parse_message(raw)
    assert isinstance(m, ParsedMessage)
    assert isinstance(m.subject, str) and isinstance(m.text, str)
    assert m.date.tzinfo is not None
    assert m.size == len(raw)
    assert m.message_id
    for att in m.attachments:
        assert att.filename and "/" not in att.filename
        extract_part(raw, att.part_path)  # every listed part can be extracted again


def test_deep_nesting_is_cut_with_a_problem() -> None:
    m = parse_message(nested_multipart(50))
    assert any("nested deeper" in p for p in m.problems)
    m = parse_message(nested_multipart(2000))
    assert m.problems


def test_non_bytes_input_is_tolerated() -> None:
    raw = mail(*BASIC, "Subject: x")
    assert parse_message(bytearray(raw)).subject == "x"
    assert parse_message(memoryview(raw)).subject == "x"
