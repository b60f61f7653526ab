"""The vocabulary of ticket state: statuses, priorities, tags, team events and their clock.

Every state change is an `Event`. Events are the source of truth for team state: a ticket's
status, priority, assignee, tags and notes are a fold of its events in clock order (see
`state.fold`), so any two machines holding the same events show the same ticket.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

STATUSES: tuple[str, ...] = ("new", "open", "pending", "on-hold", "solved", "closed")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
SYSTEM_AGENT = "system"

# field -> the ops it accepts
OPS: dict[str, frozenset[str]] = {
    "status": frozenset({"set", "reopen"}),
    "priority": frozenset({"set"}),
    "assignee": frozenset({"set"}),
    "tag": frozenset({"add", "remove"}),
    "note": frozenset({"add"}),
    "merge": frozenset({"into"}),
    "split": frozenset({"off"}),
    "snapshot": frozenset({"snapshot"}),
    "composing": frozenset({"mark", "clear"}),
}
EPHEMERAL_FIELDS = frozenset({"composing"})
"""Events about the moment, not the ticket ("X is writing a reply"): never folded into a
ticket's state, audit trail or snapshots, worthless once expired (see `tickets/composing`).
Clients older than them skip them with a warning (`check_event` rejects an unknown change)."""
_TAG_RE = re.compile(r"^[\w][\w.:/+-]{0,49}$")
_REF_RE = re.compile(r"^T-[0-9A-HJKMNP-TV-Z]{5,16}$")
_HLC_RE = re.compile(r"^(\d{13})-(\d{5})-(.{0,200})$", re.DOTALL)
_ADDRESS_RE = re.compile(r"^[^\s@<>\"]+@[^\s@<>\"]+$")


class InvalidChange(ValueError):
    """A change that names an unknown field or value; the message says which and what is allowed."""


def priority_rank(name: str) -> int:
    return PRIORITIES.index(name)


def normalise_tag(tag: str) -> str:
    value = tag.strip().casefold().replace(" ", "-")
    if not _TAG_RE.match(value):
        raise InvalidChange(f"bad tag {tag!r}: use letters, digits and . : / + - (at most 50)")
    return value


def valid_address(value: str) -> bool:
    return bool(_ADDRESS_RE.match(value))


def valid_ref(ref: str) -> bool:
    return bool(_REF_RE.match(ref))


@dataclass(frozen=True, order=True, slots=True)
class Hlc:
    """A hybrid logical clock reading: wall milliseconds, a counter for events in the same
    millisecond (or when our wall clock is behind one we have seen), and the agent as the last
    tie-break. Its text form sorts like the tuple, so SQL can ORDER BY it."""

    wall_ms: int
    counter: int
    agent: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:05d}-{self.agent}"

    @classmethod
    def parse(cls, text: str) -> Hlc:
        match = _HLC_RE.match(text)
        if not match:
            raise ValueError(f"not a clock reading: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)), match.group(3))

    @classmethod
    def tick(cls, last: str | None, agent: str, now_ms: int | None = None) -> Hlc:
        """The next reading after `last` (the newest we have seen, local or remote)."""
        wall = int(time.time() * 1000) if now_ms is None else now_ms
        if last:
            prev = cls.parse(last)
            if prev.wall_ms >= wall:
                return cls(prev.wall_ms, min(prev.counter + 1, 99999), agent)
        return cls(wall, 0, agent)


def hlc_wall_ms(hlc: str) -> int:
    return int(hlc[:13])


@dataclass(frozen=True, slots=True)
class Event:
    """One team state change. `ticket` is the public ref; `value` is text (JSON for split and
    snapshot); `event_id` makes applying the same event twice a no-op."""

    ticket: str
    field: str
    op: str
    value: str
    hlc: str
    agent: str
    event_id: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def order(self) -> tuple[str, str]:
        return (self.hlc, self.event_id)


def check_event(data: Any) -> Event:
    """Validate one event from the wire; raises ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("an event must be an object")
    values: dict[str, str] = {}
    for key in ("ticket", "field", "op", "value", "hlc", "agent", "event_id"):
        item = data.get(key, "" if key == "value" else None)
        if not isinstance(item, str):
            raise ValueError(f"event field {key!r} missing or not text")
        values[key] = item
    event = Event(**values)
    if not valid_ref(event.ticket):
        raise ValueError(f"bad ticket id {event.ticket!r}")
    if event.op not in OPS.get(event.field, frozenset()):
        raise ValueError(f"unknown change {event.field}/{event.op}")
    Hlc.parse(event.hlc)
    if not event.event_id or len(event.event_id) > 200:
        raise ValueError("bad event_id")
    if event.field in EPHEMERAL_FIELDS and not 0 < len(event.agent) <= 200:
        raise ValueError("a composing mark needs the agent who writes")
    check_value(event.field, event.op, event.value)
    return event


def check_value(field: str, op: str, value: str) -> None:
    """Raise InvalidChange when `value` is not allowed for `field`."""
    if field == "status" and value not in STATUSES:
        raise InvalidChange(f"unknown status {value!r}; one of: {', '.join(STATUSES)}")
    if field == "priority" and value not in PRIORITIES:
        raise InvalidChange(f"unknown priority {value!r}; one of: {', '.join(PRIORITIES)}")
    if field == "assignee" and value and not valid_address(value):
        raise InvalidChange(f"assignee must be an address or empty, not {value!r}")
    if field == "tag" and normalise_tag(value) != value:
        raise InvalidChange(f"tag {value!r} is not normalised")
    if field == "merge" and not valid_ref(value):
        raise InvalidChange(f"merge target {value!r} is not a ticket id")
    if field == "note" and len(value) > 100_000:
        raise InvalidChange("note too long")
    if field == "split":
        data = _json_object(value)
        if not isinstance(data.get("message_id"), str) or not data["message_id"]:
            raise InvalidChange("split needs the message_id it moves")
    if field == "snapshot":
        _check_snapshot(_json_object(value))
    if field == "composing":
        _check_composing(op, value)


def _check_composing(op: str, value: str) -> None:
    """A mark carries when its composer opened (ISO 8601 with a zone); a clear carries nothing."""
    if op == "clear":
        if value:
            raise InvalidChange("a composing clear carries no value")
        return
    try:
        since = datetime.fromisoformat(value) if len(value) <= 40 else None
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise InvalidChange(f"a composing mark needs the time its composer opened, not {value[:40]!r}")


def _json_object(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise InvalidChange(f"value is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidChange("value must be a JSON object")
    return data


def _check_snapshot(data: dict[str, Any]) -> None:
    """A snapshot from another machine is folded as-is, so its shape is checked strictly."""

    def texts(item: Any, n: int) -> bool:
        return isinstance(item, list) and len(item) == n and all(isinstance(x, str) for x in item)

    fields = data.get("fields", {})
    tags = data.get("tags", {})
    ok = isinstance(fields, dict) and isinstance(tags, dict)
    ok = ok and all(k in ("status", "priority", "assignee") and texts(v, 3) for k, v in fields.items())
    ok = ok and all(isinstance(v, list) and len(v) == 3 and isinstance(v[0], bool) and texts(v[1:], 2)
                    for v in tags.values())  # fmt: skip
    ok = ok and all(texts(n, 4) for n in data.get("notes", []))
    ok = ok and all(isinstance(a, list) and len(a) == 6 and texts(a[:5], 5) for a in data.get("audit", []))
    ok = ok and texts(data.get("upto"), 2)
    ok = ok and all(data.get(k) is None or isinstance(data[k], str) for k in ("solved", "last"))
    if not ok:
        raise InvalidChange("malformed snapshot")
    if data.get("last"):
        Hlc.parse(data["last"])
    for name, (value, hlc, _agent) in fields.items():
        check_value(name, "set", value)
        Hlc.parse(hlc)
