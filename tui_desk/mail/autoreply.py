"""Recognise machine-generated mail, so the help desk never answers a robot.

Answering an out-of-office reply with an acknowledgement that triggers another
out-of-office reply is the classic mail loop. RFC 3834 says how robots *should* mark
their mail (`Auto-Submitted`); in practice we also need the vendor headers, list and bulk
markers, bounce shapes and the localised subjects that Outlook and friends use.

Subjects are a weak signal on their own: a customer may well write "Out of office
printer broken". A known label at the *start* of the subject ("Automatic reply: ...",
"Odsotnost: ...") counts by itself; the same words elsewhere count only together with
another robot marker (X-Auto-Response-Suppress, an empty Return-Path ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tui_desk.mail.message import Address

# Subject prefixes that say "this is an automatic reply", in the languages our users meet.
_REPLY_PHRASES = (
    r"auto(?:matic|matische|matisch)?[\s_-]*(?:reply|response|antwort|answer|antwoord)",
    r"autoreply|autoresponse|autorespond(?:er)?",
    r"abwesenheitsnotiz",
    r"samodejni\s+odgovor|automatski\s+odgovor|автоматски\s+одговор",
    r"автоматический\s+ответ|автоответ|автоматична\s+відповідь|автоматичен\s+отговор",
    r"réponse\s+automatique|respuesta\s+automática|risposta\s+automatica|resposta\s+automática",
    r"automatyczna\s+odpowied[źz]|automatická\s+odpov[ěe]ď|automatikus\s+válasz|otomatik\s+yan[ıi]t",
    r"autosvar|自动回复|自動回覆|自動応答|自動返信",
)
# Words that say "I am away": a robot only when they open the subject as a label
# ("Odsotnost: ...", "Out of Office: ..."), otherwise just supporting evidence.
_ABSENCE_PHRASES = (
    r"out[\s_-]+of[\s_-]+(?:the[\s_-]+)?office(?:\s+auto[\s-]*reply)?",
    r"abwesend|abwesenheit|odsotnost|odsoten|odsotna|odsutan|odsutna|odsutnost",
    r"вне\s+офиса|нет\s+на\s+месте|в\s+отпуске",
    r"fuera\s+de\s+la\s+oficina|fuori\s+sede|poza\s+biurem|afwezig|absence|vacation|on\s+holiday|urlaub|dopust",
)
_REPLY = "(?:" + "|".join(_REPLY_PHRASES) + ")"
_ABSENCE = "(?:" + "|".join(_ABSENCE_PHRASES) + ")"
_LEAD = r"^\s*(?:\[[^\]]{0,40}\]\s*)?"  # an optional "[EXTERNAL]" tag
_STRONG_SUBJECT = re.compile(
    _LEAD + "(?:(?:" + _REPLY + "|" + _ABSENCE + r")\s*(?:[:\-–]|$)|auto\s*:)", re.IGNORECASE
)
_WEAK_SUBJECT = re.compile(r"(?<!\w)(?:" + _REPLY + "|" + _ABSENCE + r")(?!\w)", re.IGNORECASE)
_NO = frozenset({"", "no", "false", "0", "off"})
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail delivery subsystem", "mail delivery system")


def _token(value: str) -> str:
    """First token of a structured header value, lower-cased (`auto-replied; owner=...`)."""
    return value.split(";", 1)[0].strip().lower()


def _is_bounce_sender(sender: Address) -> bool:
    local = sender.addr.split("@", 1)[0].lower()
    name = sender.name.lower()
    return local in ("mailer-daemon", "postmaster") or any(name.startswith(s) for s in _BOUNCE_SENDERS)


def detect_auto_submitted(
    headers: Mapping[str, str],
    *,
    subject: str,
    sender: Address,
    content_type: str = "",
    report_type: str = "",
    has_delivery_status: bool = False,
) -> str:
    """Classify a message: "" for a human, else "bounce", "auto-replied", "auto-generated",
    "list" or "bulk".

    `headers` maps lower-case header names to decoded values (at least auto-submitted,
    precedence, x-autoreply, x-autorespond, x-auto-response-suppress, return-path,
    list-id, list-unsubscribe). `content_type`/`report_type` describe the top-level part.
    """
    if content_type == "multipart/report":
        kind = report_type.lower()
        if kind in ("disposition-notification", "feedback-report"):
            return "auto-generated"  # read receipts and abuse reports: robots, not bounces
        return "bounce"
    if has_delivery_status or content_type == "message/delivery-status" or _is_bounce_sender(sender):
        return "bounce"

    auto = _token(headers.get("auto-submitted", ""))
    if auto not in _NO:
        return auto if auto in ("auto-replied", "auto-generated", "auto-notified") else "auto-generated"
    precedence = _token(headers.get("precedence", ""))
    if precedence in ("auto_reply", "auto-reply", "autoreply"):
        return "auto-replied"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply"):
        if name in headers and _token(headers[name]) not in _NO - {""}:
            return "auto-replied"

    return_path = headers.get("return-path", None)
    null_sender = return_path is not None and return_path.strip().strip("<>").strip() == ""
    if _STRONG_SUBJECT.search(subject or ""):
        return "auto-replied"
    supporting = (
        null_sender
        or "x-auto-response-suppress" in headers
        or "x-ms-exchange-inbox-rules-loop" in headers
        or precedence in ("bulk", "junk", "list")
    )
    if supporting and _WEAK_SUBJECT.search(subject or ""):
        return "auto-replied"

    if precedence in ("bulk", "junk"):
        return "bulk"
    if precedence == "list" or headers.get("list-id", "").strip():
        return "list"
    if headers.get("list-unsubscribe", "").strip():
        return "bulk"
    if null_sender:
        return "bounce"
    return ""
