"""A ticket's conversation as Text: each mail with its quoted text and signature folded.

Customers' mail is mostly the thread quoted back at us; folding it makes a long ticket
readable on 24 lines. Folding is a view decision only: the text is never changed, `z` shows
it whole. Every string here is cleaned by `safe_text` first (escape sequences and controls
gone), then split, so a fold can never cut an escape sequence in half.
"""

from __future__ import annotations

import re
from datetime import datetime

from rich.text import Text

from tui_desk.screens.safe import safe_line, safe_text
from tui_desk.tickets.service_types import AuditView, MessageView, NoteView

_ATTRIBUTION = re.compile(r"(wrote|napisal[a]?|napisao|napisala|написал[а]?|schrieb|écrit|escribió)\s*:\s*$", re.I)
_OUTLOOK = re.compile(r"^\s*(-{3,}\s*original message\s*-{3,}|_{20,})\s*$", re.I)


def split_parts(text: str) -> list[tuple[str, list[str]]]:
    """The body as runs of ("text" | "quote" | "signature", lines)."""
    lines = text.split("\n")
    parts: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip() in ("-- ", "--") and i > 0:
            parts.append(("signature", lines[i:]))
            break
        if _OUTLOOK.match(line):
            parts.append(("quote", lines[i:]))
            break
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.lstrip().startswith(">") or (_ATTRIBUTION.search(line) and nxt.lstrip().startswith(">")):
            kind = "quote"
        else:
            kind = "text"
        if parts and parts[-1][0] == kind:
            parts[-1][1].append(line)
        else:
            parts.append((kind, [line]))
        i += 1
    # a blank line between two quoted runs belongs to the quote
    merged: list[tuple[str, list[str]]] = []
    for kind, chunk in parts:
        gap = len(merged) >= 2 and merged[-1][0] == "text" and not "".join(merged[-1][1]).strip()
        if kind == "quote" and gap and merged[-2][0] == "quote":
            blank = merged.pop()
            merged[-1] = ("quote", merged[-1][1] + blank[1] + chunk)
        else:
            merged.append((kind, list(chunk)))
    return merged


def body_text(text: str, *, fold: bool) -> Text:
    pieces: list[Text] = []
    for kind, lines in split_parts(safe_text(text.rstrip("\n")).plain):
        if kind == "text":
            chunk = "\n".join(lines)
            if fold:
                chunk = chunk.strip("\n")
                if not chunk.strip():
                    continue
            pieces.append(Text(chunk))
        elif fold:
            count = sum(1 for line in lines if line.strip(" >\t") and (kind == "quote" or line.lstrip().startswith(">")))
            quoted = f"{count} quoted line{'s' if count != 1 else ''}"
            label = quoted if kind == "quote" else ("signature and " + quoted if count else "signature")
            pieces.append(Text(f"┄ {label} (z shows it)", style="dim italic"))
        else:
            pieces.append(Text("\n".join(lines), style="dim"))
    return Text("\n").join(pieces)


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "?"


def message_text(msg: MessageView, moment: datetime | None, *, fold: bool) -> Text:
    head = Text()
    who = f"{msg.from_name} <{msg.from_addr}>" if msg.from_name else msg.from_addr
    head.append_text(safe_line(who, "bold"))
    head.append(f"  {when(moment)}", style="dim")
    if msg.ours:
        head.append("  (our reply)", style="dim italic")
    if msg.automatic:
        head.append("  (automatic)", style="dim italic")
    if msg.to or msg.cc:
        head.append("\n")
        head.append_text(safe_line("to " + ", ".join(msg.to) + (("  cc " + ", ".join(msg.cc)) if msg.cc else ""),
                                   "dim"))  # fmt: skip
    head.append("\n\n")
    head.append_text(body_text(msg.text or "(no text)", fold=fold))
    for a in msg.attachments:
        head.append("\n📎 ")
        head.append_text(safe_line(a.name or "attachment"))
        head.append(f"  {a.content_type}, {_size(a.size)}", style="dim")
    return head


def note_text(note: NoteView, moment: datetime | None) -> Text:
    out = Text()
    out.append("Internal note by ", style="bold")
    out.append_text(safe_line(note.author, "bold"))
    out.append(f"  {when(moment)}", style="dim")
    out.append("\n")
    out.append_text(safe_text(note.body))
    return out


def audit_text(audit: list[tuple[AuditView, datetime | None]]) -> Text:
    out = Text("History\n", style="bold")
    if not audit:
        out.append("no changes yet", style="dim")
    for a, moment in audit:
        change = f"{a.field}: {a.old or '—'} → {a.new or '—'}" if a.field != "note" else "note added"
        out.append(f"{when(moment)}  ", style="dim")
        out.append_text(safe_line(f"{a.agent}  {change}"))
        out.append("\n")
    return out


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
