"""What ending IDLE counts as news: mailbox changes, not keepalives (else a server that always
says something on DONE would make the watcher resync every second)."""

from __future__ import annotations

import pytest

from tui_desk.mail.imap import _is_news


@pytest.mark.parametrize(
    ("response", "news"),
    [
        ((3, b"EXISTS"), True),
        ((2, b"EXPUNGE"), True),
        ((3, b"RECENT"), True),
        ((4, b"FETCH", (b"FLAGS", (b"\\Seen",), b"MODSEQ", (12,))), True),
        ((b"VANISHED", b"(EARLIER) 1:3"), True),
        ((b"OK", b"Still here"), False),
        ((b"FLAGS", (b"\\Seen", b"\\Answered")), False),
        ("something imapclient did not parse", True),
    ],
)
def test_what_counts_as_news(response: object, news: bool) -> None:
    assert _is_news(response) is news
