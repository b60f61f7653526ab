"""clean_display and safe_filename: hostile text and names from strangers' mail."""

from __future__ import annotations

import time
import unicodedata

import pytest

from tui_desk.mail.sanitize import clean_display, safe_filename

# --- clean_display ---------------------------------------------------------------------------


def test_brief_example_keeps_markup_drops_osc_with_payload() -> None:
    assert clean_display("[bold red]x[/] \x1b]0;pwned\x07") == "[bold red]x[/] "


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\x1b[31mred\x1b[0mb", "aredb"),  # CSI SGR
        ("a\x1b[2J\x1b[Hb", "ab"),  # clear screen, cursor home
        ("a\x1b[?1049hb", "ab"),  # private-mode CSI
        ("a\x1b[1;2 qb", "ab"),  # CSI with intermediate byte
        ("a\x1b]0;title\x07b", "ab"),  # OSC ... BEL
        ("a\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # OSC 8 hyperlink, ST terminated
        ("a\x1bP1$r0m\x1b\\b", "ab"),  # DCS ... ST
        ("a\x1b_payload\x1b\\b", "ab"),  # APC
        ("a\x1b^privacy\x1b\\b", "ab"),  # PM
        ("a\x1bXstring\x1b\\b", "ab"),  # SOS
        ("a\x1bcb", "ab"),  # RIS (two-char escape)
        ("a\x1b(Bb", "ab"),  # charset designation (nF)
        ("a\x1b7\x1b8b", "ab"),  # save/restore cursor
        ("a\x9b31mb", "ab"),  # 8-bit CSI
        ("a\x9d0;title\x07b", "ab"),  # 8-bit OSC with payload
        ("a\x9d0;title\x9cb", "ab"),  # 8-bit OSC ... 8-bit ST
        ("a\x90dcs\x9cb", "ab"),  # 8-bit DCS
        ("a\x1b", "a"),  # lone trailing ESC
    ],
)
def test_escape_sequences_are_removed_with_payload(raw: str, expected: str) -> None:
    assert clean_display(raw) == expected


def test_control_characters() -> None:
    assert clean_display("a\x00b\x07c\x08d\x7fe") == "abcde"
    assert clean_display("tab\there\nnext") == "tab\there\nnext"
    assert clean_display("crlf\r\nlone\rcr") == "crlf\nlone\ncr"
    assert clean_display("ok" + "".join(chr(c) for c in range(0x80, 0xA0))) == "ok"
    assert clean_display("a\x85b\x8ec\x9fapc-payload") == "abc"  # C1 APC swallows its string
    assert clean_display("line\u2028sep\u2029para") == "line\nsep\npara"


def test_bidi_and_invisible_spoofing_characters() -> None:
    # "invoice_\u202efdp.exe" renders as "invoice_exe.pdf" in a bidi-aware terminal
    assert clean_display("invoice_\u202efdp.exe") == "invoice_fdp.exe"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c":
        assert clean_display(f"a{ch}b") == "ab", repr(ch)
    assert clean_display("pay\u200bpal") == "paypal"
    assert clean_display("\ufeffbom") == "bom"
    assert clean_display("tag\U000e0041\U000e0042s") == "tags"


def test_text_in_any_script_is_kept() -> None:
    text = "Čćžšđ ČĆŽŠĐ Привет 日本語 👍🏽 [link](x) <b>"
    assert clean_display(text) == text


def test_single_line_collapses_whitespace() -> None:
    assert clean_display("  a \n\n b\t\tc\r\n ", single_line=True) == "a b c"
    assert clean_display("x\x1b[31m \n y", single_line=True) == "x y"
    assert clean_display("", single_line=True) == ""


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b" * 10_000_000,
        "\x1b[" + "0" * 10_000_000,
        "\x1b]" * 5_000_000,
        "\x1b]0;" + "a" * 10_000_000,
        "\x9b" * 10_000_000,
        "\x1b[1;" * 2_000_000,
    ],
    ids=["esc", "csi-params", "osc-open", "osc-unterminated", "c1-csi", "csi-repeat"],
)
def test_linear_time_on_hostile_input(hostile: str) -> None:
    start = time.perf_counter()
    out = clean_display(hostile)
    assert time.perf_counter() - start < 5.0
    assert "\x1b" not in out and "\x9b" not in out


# --- safe_filename ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system32\\evil.dll", "evil.dll"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("/absolute/path/name.txt", "name.txt"),
        (".bashrc", "bashrc"),
        ("...hidden", "hidden"),
        ("..", "attachment"),
        (".", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        ("a<b>c:d\"e|f?g*h.txt", "a_b_c_d_e_f_g_h.txt"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("trailing dots... ", "trailing dots"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT1.log", "_LPT1.log"),
        ("com9", "_com9"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("invoice_\u202efdp.exe", "invoice_fdp.exe"),
        ("line\nbreak\r.txt", "line break.txt"),
        ("\x1b]0;x\x07name.pdf", "name.pdf"),
        ("Račun št. 5.pdf", "Račun št. 5.pdf"),
    ],
)
def test_safe_filename(raw: str, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_safe_filename_fallback() -> None:
    assert safe_filename("", "part-2.bin") == "part-2.bin"
    assert safe_filename("../", "../../x.bin") == "x.bin"
    assert safe_filename("..", "..") == "attachment"


def test_safe_filename_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Šćž.txt")
    result = safe_filename(decomposed)
    assert result == "Šćž.txt"
    assert unicodedata.is_normalized("NFC", result)


def test_safe_filename_trims_to_200_bytes_keeping_extension() -> None:
    long_ascii = safe_filename("a" * 500 + ".pdf")
    assert long_ascii.endswith(".pdf")
    assert len(long_ascii.encode("utf-8")) <= 200
    long_multibyte = safe_filename("ž" * 300 + ".docx")
    assert long_multibyte.endswith(".docx")
    assert len(long_multibyte.encode("utf-8")) <= 200
    long_multibyte.encode("utf-8").decode("utf-8")  # not cut inside a character
    no_ext = safe_filename("я" * 300)
    assert 0 < len(no_ext.encode("utf-8")) <= 200
