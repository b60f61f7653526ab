"""A few junk mails for the demo mailbox: a real support address gets them, and the demo should
show how a desk tags and closes them (the generator in `mailgen` writes only real customers)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

SPAM_DOMAINS = frozenset({"seo-rank-boost.biz", "crypto-yield.top", "prize-center.info", "webinar-pro.ru"})

_SPAM: tuple[tuple[str, str, str, str], ...] = (
    ("Rank Booster", "offers@seo-rank-boost.biz", "Your website example.test is not on Google page 1",
     "We can put example.test on the first page of Google in 14 days. Reply with YES for a free audit."),
    ("Yield Desk", "desk@crypto-yield.top", "Guaranteed 12% weekly return",
     "Join 40,000 investors earning passive income. Limited places, act now."),
    ("Prize Center", "winner@prize-center.info", "Congratulations! You have been selected",
     "Your address was selected for a new phone. Confirm your details to claim the prize."),
    ("Вебинар Про", "info@webinar-pro.ru", "Приглашение на бесплатный вебинар по продажам",
     "Узнайте, как удвоить продажи за месяц. Регистрация по ссылке, количество мест ограничено."),
    ("Rank Booster", "team@seo-rank-boost.biz", "Re: backlinks for example.test",
     "Following up on my last mail: 500 high-quality backlinks for only 99 USD."),
    ("Prize Center", "claims@prize-center.info", "Final notice: unclaimed reward",
     "This is your last chance to claim the reward reserved for you."),
)  # fmt: skip


def spam_mails(count: int, *, seed: int, start: datetime, end: datetime) -> list[tuple[bytes, datetime]]:
    """`count` junk mails (raw, date), spread between `start` and `end`, oldest first."""
    rng = random.Random(seed)
    span = max(1, int((end - start).total_seconds()))
    out: list[tuple[bytes, datetime]] = []
    for n in range(count):
        name, addr, subject, body = _SPAM[n % len(_SPAM)]
        when = start + timedelta(seconds=rng.randrange(span))
        msg = EmailMessage()
        msg["From"] = f"{name} <{addr}>"
        msg["To"] = "support@example.test"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<spam.{n}.{rng.getrandbits(48):x}@{addr.rsplit('@', 1)[1]}>"
        msg.set_content(body + "\n\nTo unsubscribe reply STOP.\n", charset="utf-8")
        out.append((msg.as_bytes(), when))
    return sorted(out, key=lambda item: item[1])
