"""The headers-only first pass must agree with the full parse on everything that identifies and
threads a message, or the body pass would change a message's identity after the fact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui_desk.demo.mailgen import generate
from tui_desk.mail.envelope import parse_envelope
from tui_desk.mail.headers import parse_addresses
from tui_desk.mail.parse import parse_message

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "fixtures"
FIELDS = ("message_id", "message_id_synthetic", "subject", "from_addr", "to", "cc", "reply_to", "in_reply_to",
          "references", "content_hash", "auto_submitted", "list_id", "headers", "date_source")  # fmt: skip


def _same(raw: bytes) -> None:
    env, full = parse_envelope(raw), parse_message(raw)
    for name in FIELDS:
        assert getattr(env, name) == getattr(full, name), name
    if full.date_source == "header":
        assert env.date == full.date
    assert not full.body_pending
    if not env.body_pending:  # odd mail falls back to the full parse: then it *is* the full parse
        assert env.text == full.text and env.attachments == full.attachments


def test_envelope_matches_full_parse_on_generated_mail() -> None:
    for mail in generate(400, seed=21):
        raw = mail.raw.replace(b"\n", b"\r\n")
        _same(raw)
        assert parse_envelope(raw).body_pending, "ordinary mail takes the fast path"


def test_envelope_matches_full_parse_on_the_corpus() -> None:
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared corpus is missing at {CORPUS}")
        pytest.skip("shared corpus not present beside the project")
    for path in sorted(CORPUS.rglob("*.eml")):
        _same(path.read_bytes())


@pytest.mark.parametrize(
    "value",
    ["Ana Novak <ANA@Example.SI>", "a@b.c, C <d@e.f>", "=?utf-8?q?=C5=A0pela?= <s@x.si>", " , a@b.c",
     '"Doe, John" <j@d.e>', "Mary (comment) <m@x.y>", "undisclosed-recipients:;", "Ana <a@b.c> junk"],
)  # fmt: skip
def test_fast_address_path_equals_the_stdlib_path(value: str) -> None:
    from email.utils import getaddresses

    from tui_desk.mail import headers

    fast = headers._simple_pairs(value)
    if fast is not None:
        assert [(" ".join(n.split()), a) for n, a in getaddresses([value]) if n or a] == [p for p in fast if any(p)]
    assert parse_addresses(value) == parse_addresses(value)  # deterministic, never raises
