"""Where tui-desk keeps things, and its settings (TOML) with passwords kept out of them.

Nothing here is read at import time: `Paths.resolve(...)` and `load_config(...)` are called once
by the CLI (or the app factory, or a test) and the result is passed down, so no widget or
worker ever consults global settings.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

APP_NAME = "tui-desk"
SECURITY_MODES = ("tls", "starttls", "none")
DEFAULT_PORTS = {("imap", "tls"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143,
                 ("smtp", "tls"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25}  # fmt: skip


class ConfigError(ValueError):
    """The settings file is missing something or holds a bad value; the text names the key."""


@dataclass(frozen=True, slots=True)
class Paths:
    data_dir: Path
    config_file: Path

    @classmethod
    def resolve(cls, data_dir: str | Path | None = None, config_file: str | Path | None = None) -> Paths:
        """Flags win over the environment (TUI_DESK_DATA_DIR, TUI_DESK_CONFIG), which wins over the
        platform's standard folders."""
        data = data_dir or os.environ.get("TUI_DESK_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)
        conf = config_file or os.environ.get("TUI_DESK_CONFIG") or (
            Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
        )
        return cls(Path(data).expanduser(), Path(conf).expanduser())


@dataclass(frozen=True, slots=True)
class Server:
    """One endpoint (IMAP or SMTP). `verify_tls = false` is per account, for self-signed servers."""

    host: str
    port: int
    security: str = "tls"
    verify_tls: bool = True
    ca_file: str = ""
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    email: str
    username: str
    imap: Server
    smtp: Server | None = None
    display_name: str = ""
    password_command: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    sent_folder: str = ""
    """Empty: found by SPECIAL-USE \\Sent when syncing."""
    sync_since: str = ""
    """Empty for the whole history, or an age like "90d" / a date like "2026-01-01"."""
    server_saves_sent: bool = False
    """True when the SMTP server files a copy in Sent itself (Gmail does): we then do not APPEND."""


@dataclass(frozen=True, slots=True)
class Agent:
    name: str = ""
    email: str = ""
    signature: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    agent: Agent = field(default_factory=Agent)
    accounts: tuple[Account, ...] = ()
    reply_status: str = "pending"
    keys: dict[str, str] = field(default_factory=dict)
    """[keys]: binding id -> key(s), e.g. `"ticket.reply" = "ctrl+r"` (the UI's `App.set_keymap`)."""

    def account(self, name: str) -> Account:
        for acc in self.accounts:
            if acc.name == name:
                return acc
        known = ", ".join(a.name for a in self.accounts) or "none configured"
        raise ConfigError(f"no account named {name!r} ({known})")

    def with_account(self, account: Account) -> Config:
        others = tuple(a for a in self.accounts if a.name != account.name)
        return replace(self, accounts=(*others, account))

    def without_account(self, name: str) -> Config:
        self.account(name)
        return replace(self, accounts=tuple(a for a in self.accounts if a.name != name))


def _server(data: Any, where: str, kind: str) -> Server:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table with host, port and security")
    host = data.get("host")
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"{where}.host: missing")
    security = data.get("security", "tls")
    if security not in SECURITY_MODES:
        raise ConfigError(f"{where}.security: {security!r} is not one of {', '.join(SECURITY_MODES)}")
    port = data.get("port", DEFAULT_PORTS[(kind, security)])
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{where}.port: {port!r} is not a port number")
    verify = data.get("verify_tls", True)
    if not isinstance(verify, bool):
        raise ConfigError(f"{where}.verify_tls: must be true or false")
    timeout = data.get("timeout", 30.0)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{where}.timeout: must be a positive number of seconds")
    return Server(host.strip(), port, security, verify, str(data.get("ca_file", "")), float(timeout))


def _string(data: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise ConfigError(f"{where}.{key}: missing")
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: must be a string")
    if "\r" in value or "\n" in value:
        raise ConfigError(f"{where}.{key}: must be one line")
    return value


def _account(data: Any, index: int) -> Account:
    where = f"accounts[{index}]"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table")
    name = _string(data, "name", where)
    if not name.strip() or "/" in name:
        raise ConfigError(f"{where}.name: must be non-empty and contain no '/'")
    folders = data.get("folders", ["INBOX"])
    if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
        raise ConfigError(f"{where}.folders: must be a list of folder names")
    smtp = _server(data["smtp"], f"{where}.smtp", "smtp") if "smtp" in data else None
    return Account(
        name=name,
        email=_string(data, "email", where),
        username=_string(data, "username", where, default=_string(data, "email", where)),
        imap=_server(data.get("imap"), f"{where}.imap", "imap"),
        smtp=smtp,
        display_name=_string(data, "display_name", where, ""),
        password_command=_string(data, "password_command", where, ""),
        folders=tuple(folders),
        sent_folder=_string(data, "sent_folder", where, ""),
        sync_since=_string(data, "sync_since", where, ""),
        server_saves_sent=bool(data.get("server_saves_sent", False)),
    )


def parse_config(data: dict[str, Any]) -> Config:
    agent_data = data.get("agent", {})
    if not isinstance(agent_data, dict):
        raise ConfigError("agent: expected a table with name, email and signature")
    agent = Agent(
        name=_string(agent_data, "name", "agent", ""),
        email=_string(agent_data, "email", "agent", ""),
        signature=str(agent_data.get("signature", "")),
    )
    accounts = data.get("accounts", [])
    if not isinstance(accounts, list):
        raise ConfigError("accounts: expected [[accounts]] tables")
    parsed = tuple(_account(a, i) for i, a in enumerate(accounts))
    names = [a.name for a in parsed]
    if len(set(names)) != len(names):
        raise ConfigError("accounts: two accounts share a name")
    reply_status = data.get("reply_status", "pending")
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise ConfigError('keys: expected a table of binding id = "key", e.g. "ticket.reply" = "ctrl+r"')
    return Config(agent=agent, accounts=parsed, reply_status=str(reply_status), keys=dict(keys))


def load_config(path: Path) -> Config:
    """The settings at `path`; an empty Config when the file does not exist yet."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v not in ("", None)}
    if isinstance(value, list | tuple):
        return [_drop_empty(v) for v in value]
    return value


def save_config(path: Path, config: Config) -> None:
    """Write the settings atomically (a crash mid-write never leaves half a file)."""
    data = _drop_empty(asdict(config))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


class SinceError(ValueError):
    """A --since / sync_since value that is neither an age like 90d nor a date."""


def parse_since(value: str, now: datetime | None = None) -> datetime | None:
    """"90d", "12w", "6m", "1y" or "2026-01-31" -> a moment; "" -> None (the whole history)."""
    value = value.strip()
    if not value:
        return None
    now = now or datetime.now(UTC)
    age = re.fullmatch(r"(\d{1,5})\s*([dwmy])", value.lower())
    if age:
        n, unit = int(age.group(1)), age.group(2)
        return now - timedelta(days=n * {"d": 1, "w": 7, "m": 30, "y": 365}[unit])
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SinceError(f"{value!r} is neither an age (90d, 12w, 6m, 1y) nor a date (YYYY-MM-DD)") from exc
