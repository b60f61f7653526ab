"""A realistic, deterministic help-desk mailbox: customers writing in English, Slovenian,
Croatian and Russian, in the charsets their mail programs really use, with replies, Outlook
threads without References, HTML-only mail, attachments and auto-replies.

Used by the demo, the benchmarks and tests, so all three see the same kind of mail.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

SUPPORT = Address("Example Support", "support", "example.test")

_PEOPLE = {
    "en": [("Emma", "Clarke"), ("James", "Miller"), ("Olivia", "Brown"), ("Noah", "Wilson"), ("Ava", "Taylor")],
    "sl": [("Ana", "Novak"), ("Luka", "Kovačič"), ("Maja", "Horvat"), ("Žiga", "Krajnc"), ("Špela", "Zupančič")],
    "hr": [("Ivana", "Babić"), ("Marko", "Jurić"), ("Petra", "Šarić"), ("Đuro", "Knežević"), ("Mateja", "Vuković")],
    "ru": [("Иван", "Петров"), ("Ольга", "Смирнова"), ("Дмитрий", "Козлов"), ("Анна", "Волкова"), ("Сергей", "Фёдоров")],
}
_DOMAINS = {
    "en": ["acme.com", "gmail.com", "outlook.com", "northwind.co.uk"],
    "sl": ["siol.net", "podjetje.si", "gmail.com", "telekom.si"],
    "hr": ["t-com.hr", "tvrtka.hr", "gmail.com", "net.hr"],
    "ru": ["mail.ru", "yandex.ru", "kompaniya.ru", "gmail.com"],
}
_CHARSETS = {
    "en": ["utf-8", "us-ascii", "utf-8"],
    "sl": ["utf-8", "windows-1250", "iso-8859-2"],
    "hr": ["utf-8", "windows-1250", "iso-8859-2"],
    "ru": ["utf-8", "koi8-r", "windows-1251"],
}
_TOPICS = {
    "en": [("Refund for order {n}", "I was charged twice for order {n}. Could you please refund the second payment?"),
           ("Cannot log in", "Since yesterday I cannot log in to my account. The password reset mail never arrives."),
           ("Invoice {n} is wrong", "The invoice {n} shows the wrong VAT number for our company."),
           ("Delivery delayed", "My parcel {n} was due last week and the tracking page has not changed."),
           ("Question about pricing", "Do you offer a discount for annual plans for a team of twelve people?")],
    "sl": [("Račun št. {n} je napačen", "Na računu {n} je napačna davčna številka. Prosim za popravek računa."),
           ("Vračilo denarja", "Za naročilo {n} sem plačal dvakrat. Prosim, vrnite mi preveč plačani znesek."),
           ("Ne morem se prijaviti", "Od včeraj se ne morem prijaviti. Sporočilo za ponastavitev gesla ne pride."),
           ("Zamuda pri dostavi", "Paket {n} bi moral prispeti prejšnji teden, sledenje pa se ne spremeni."),
           ("Vprašanje o ceni", "Ali nudite popust za letno naročnino za ekipo dvanajstih ljudi?")],
    "hr": [("Račun br. {n} je pogrešan", "Na računu {n} je pogrešan OIB naše tvrtke. Molim ispravak."),
           ("Povrat novca", "Za narudžbu {n} naplaćeno mi je dvaput. Molim povrat drugog plaćanja."),
           ("Ne mogu se prijaviti", "Od jučer se ne mogu prijaviti. Poruka za promjenu lozinke ne stiže."),
           ("Kašnjenje isporuke", "Paket {n} trebao je stići prošli tjedan, a praćenje se ne mijenja."),
           ("Pitanje o cijeni", "Nudite li popust za godišnju pretplatu za tim od dvanaest ljudi?")],
    "ru": [("Возврат денег за заказ {n}", "С меня дважды списали оплату за заказ {n}. Верните, пожалуйста, второй платёж."),
           ("Не могу войти", "Со вчерашнего дня не могу войти в аккаунт. Письмо для сброса пароля не приходит."),
           ("Ошибка в счёте {n}", "В счёте {n} указан неверный ИНН нашей компании. Прошу исправить."),
           ("Задержка доставки", "Посылка {n} должна была прийти на прошлой неделе, статус не меняется."),
           ("Вопрос о цене", "Есть ли скидка на годовую подписку для команды из двенадцати человек?")],
}
_GREETING = {"en": "Hello,", "sl": "Pozdravljeni,", "hr": "Poštovani,", "ru": "Здравствуйте,"}
_THANKS = {"en": "Thank you,", "sl": "Hvala in lep pozdrav,", "hr": "Hvala i lijep pozdrav,", "ru": "Спасибо,"}
_FOLLOWUP = {"en": "Any news on this? It is still not solved.", "sl": "Je kaj novega? Težava še vedno ni rešena.",
             "hr": "Ima li novosti? Problem još nije riješen.", "ru": "Есть новости? Проблема всё ещё не решена."}
_RE = {"en": "RE: ", "sl": "Odg: ", "hr": "Odg: ", "ru": "Отв: "}
_AUTO = {"en": "Automatic reply: ", "sl": "Samodejni odgovor: ", "hr": "Automatski odgovor: ",
         "ru": "Автоматический ответ: "}
_FILLER = (
    "For reference, here are the details from my account page and the steps I already tried. "
    "I cleared the browser cache, tried another browser and restarted the computer. "
)  # fmt: skip


_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(), strict=True))


def _ascii(text: str) -> str:
    """A plausible ASCII mailbox name: Špela -> spela, Фёдоров -> fedorov."""
    text = "".join(_CYRILLIC.get(c, c) for c in text.lower()).replace("-", "")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass(slots=True)
class GeneratedMail:
    raw: bytes
    date: datetime
    lang: str
    from_addr: str
    message_id: str
    kind: str
    """"new", "followup", "outlook-reply", "agent-reply", "auto-reply"."""


def _encode(msg: EmailMessage, text: str, charset: str, html: bool) -> None:
    if html:
        body = "".join(f"<p>{line}</p>" for line in text.split("\n") if line)
        msg.set_content(f"<html><body>{body}</body></html>", subtype="html", charset=charset if charset != "us-ascii" else "utf-8")
    else:
        try:
            text.encode(charset)
        except UnicodeEncodeError:
            charset = "utf-8"
        msg.set_content(text, charset=charset, cte="quoted-printable" if charset != "us-ascii" else "7bit")


def generate(count: int, *, seed: int = 7, start: datetime | None = None, domain: str = "example.test",
             pad_to: int = 0) -> Iterator[GeneratedMail]:
    """`count` messages, oldest first. About one in three continues an earlier conversation.
    `pad_to` adds quoted history until a message is about that many bytes (6 KB is typical mail)."""
    rng = random.Random(seed)
    now = start or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    when = now - timedelta(minutes=7 * count)
    threads: list[tuple[str, str, str, str, str, list[str]]] = []
    support = Address("Example Support", "support", domain)
    for n in range(count):
        when += timedelta(minutes=rng.randint(1, 13))
        lang = rng.choice(("en", "en", "sl", "hr", "ru"))
        roll = rng.random()
        msg = EmailMessage()
        kind = "new"
        if threads and roll < 0.33:
            lang, name, addr, subject, charset, refs = rng.choice(threads)
            kind = rng.choice(("followup", "outlook-reply", "agent-reply", "auto-reply"))
            first, last = name.split(" ", 1)
            if kind == "agent-reply":
                msg["From"] = support
                msg["To"] = Address(name, *addr.split("@"))
                msg["Subject"] = "Re: " + subject
                msg["In-Reply-To"] = refs[-1]
                msg["References"] = " ".join(refs[-5:])
                text = f"{_GREETING[lang]}\n\nwe are looking into it and will write back today.\n\nExample Support"
            elif kind == "auto-reply":
                msg["From"] = Address(name, *addr.split("@"))
                msg["To"] = support
                msg["Subject"] = _AUTO[lang] + subject
                msg["Auto-Submitted"] = "auto-replied"
                msg["In-Reply-To"] = refs[-1]
                text = {"en": "I am out of the office until Monday.", "sl": "Do ponedeljka sem odsoten.",
                        "hr": "Do ponedjeljka sam odsutan.", "ru": "Я в отпуске до понедельника."}[lang]
            else:
                msg["From"] = Address(name, *addr.split("@"))
                msg["To"] = support
                msg["Subject"] = _RE[lang] + subject
                if kind == "followup":
                    msg["In-Reply-To"] = refs[-1]
                    msg["References"] = " ".join(refs[-5:])
                    msg["Thread-Topic"] = subject
                text = f"{_FOLLOWUP[lang]}\n\n{first}"
        else:
            first, last = rng.choice(_PEOPLE[lang])
            name = f"{first} {last}"
            local = _ascii(first + "." + last) or f"kupec{n}"
            addr = f"{local}{rng.randint(1, 99)}@{rng.choice(_DOMAINS[lang])}"
            charset = rng.choice(_CHARSETS[lang])
            title, body = rng.choice(_TOPICS[lang])
            order = f"{rng.randint(10000, 99999)}"
            subject = title.format(n=order)
            msg["From"] = Address(name, *addr.split("@"))
            msg["To"] = support
            msg["Subject"] = subject
            text = f"{_GREETING[lang]}\n\n{body.format(n=order)}\n\n{_THANKS[lang]}\n{name}"
            refs = []
            threads.append((lang, name, addr, subject, charset, refs))
        mid = f"<{n}.{rng.getrandbits(40):x}@{addr.split('@')[1] if kind != 'agent-reply' else domain}>"
        msg["Message-ID"] = mid
        msg["Date"] = format_datetime(when)
        if kind != "auto-reply":
            refs.append(mid)
        if pad_to:
            quote = "\n".join("> " + _FILLER for _ in range(max(0, (pad_to - 1200) // 190)))
            text = f"{text}\n\n{quote}"
        html = kind == "new" and rng.random() < 0.15
        _encode(msg, text, charset if kind != "agent-reply" else "utf-8", html)
        if kind == "new" and rng.random() < 0.1:
            msg.add_attachment(b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(600)),
                               maintype="application", subtype="pdf", filename=f"račun-{n}.pdf")  # fmt: skip
        yield GeneratedMail(msg.as_bytes(), when, lang, addr, mid.strip("<>"), kind)
