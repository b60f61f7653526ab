"""The templates a new desk starts with, in English, Slovenian, Croatian and Russian.

Seeded once (see `templates.ensure_defaults`); a team edits, deletes or replaces them, and a
deleted one stays deleted.
"""

from __future__ import annotations

DEFAULTS: list[tuple[str, list[str], str, str]] = [
    ("Thanks, looking into it", ["ack", "first-response"], "en",
     "Hello {{customer.first_name}},\n\nthank you for your message. We are looking into it and will "
     "get back to you as soon as we can.\n\nBest regards,\n{{agent.name}}"),
    ("Need more information", ["info", "question"], "en",
     "Hello {{customer.first_name}},\n\nto help you further we need a few more details: what you did, "
     "what you expected, and what happened instead (a screenshot helps).\n\nBest regards,\n{{agent.name}}"),
    ("Solved, closing", ["solved", "closing"], "en",
     "Hello {{customer.first_name}},\n\nwe believe this is now solved. If anything is still not right, "
     "just reply to this message and the ticket {{ticket.id}} opens again.\n\nBest regards,\n{{agent.name}}"),
    ("Hvala, preverjamo", ["ack", "first-response"], "sl",
     "Pozdravljeni, {{customer.first_name}},\n\nhvala za vaše sporočilo. Zadevo preverjamo in vam "
     "odgovorimo v najkrajšem možnem času.\n\nLep pozdrav,\n{{agent.name}}"),
    ("Potrebujemo več podatkov", ["info", "question"], "sl",
     "Pozdravljeni, {{customer.first_name}},\n\nza nadaljnjo pomoč potrebujemo nekaj podatkov: kaj ste "
     "naredili, kaj ste pričakovali in kaj se je zgodilo.\n\nLep pozdrav,\n{{agent.name}}"),
    ("Hvala, provjeravamo", ["ack", "first-response"], "hr",
     "Poštovani/a {{customer.first_name}},\n\nhvala na poruci. Provjeravamo i javit ćemo vam se što "
     "prije.\n\nLijep pozdrav,\n{{agent.name}}"),
    ("Trebamo više podataka", ["info", "question"], "hr",
     "Poštovani/a {{customer.first_name}},\n\nza daljnju pomoć trebamo još nekoliko podataka: što ste "
     "napravili, što ste očekivali i što se dogodilo.\n\nLijep pozdrav,\n{{agent.name}}"),
    ("Спасибо, проверяем", ["ack", "first-response"], "ru",
     "Здравствуйте, {{customer.first_name}}!\n\nСпасибо за ваше сообщение. Мы разбираемся и ответим "
     "вам как можно скорее.\n\nС уважением,\n{{agent.name}}"),
    ("Нужно больше информации", ["info", "question"], "ru",
     "Здравствуйте, {{customer.first_name}}!\n\nЧтобы помочь, нам нужно немного больше информации: что "
     "вы сделали, что ожидали и что произошло.\n\nС уважением,\n{{agent.name}}"),
]  # fmt: skip
