"""Passwords: from the system keyring (service "tui-desk", the account's name), or from the
account's `password_command` where no keyring works (headless servers, SSH sessions).

A missing keyring backend is an expected situation, not a crash: it becomes a
`CredentialError` whose text tells the user what to do instead.

`passwords_in_memory({...})` lends passwords for the length of a `with` block, ahead of both:
for a secret that exists only in this process (the demo's in-process mail server makes one up
at start), which must never be written to the user's keyring or settings.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import keyring
import keyring.errors

from tui_desk.config import Account

SERVICE = "tui-desk"
NO_KEYRING_HELP = (
    "no system keyring is available on this machine. Either install and unlock one "
    "(GNOME Keyring, KWallet, macOS Keychain; or `pip install keyrings.alt` for a file-based one), "
    "or set password_command in the account, e.g. password_command = \"pass show support\""
)


class CredentialError(RuntimeError):
    """No password could be had; the text says why and what to do."""


_IN_MEMORY: dict[str, str] = {}


@contextmanager
def passwords_in_memory(passwords: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, `get_password` answers these accounts (by name) from memory; afterwards
    whatever was there before is back. Nothing is stored anywhere."""
    saved = {name: _IN_MEMORY.get(name) for name in passwords}
    _IN_MEMORY.update(passwords)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                _IN_MEMORY.pop(name, None)
            else:
                _IN_MEMORY[name] = old


def _backend_usable() -> bool:
    """False when keyring fell back to its "fail" backend (nothing installed or unlocked)."""
    import keyring.backends.chainer
    import keyring.backends.fail

    backend = keyring.get_keyring()
    if isinstance(backend, keyring.backends.fail.Keyring):
        return False
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        return bool(backend.backends)
    return True


def get_password(account: Account) -> str:
    if account.name in _IN_MEMORY:
        return _IN_MEMORY[account.name]
    if account.password_command:
        return _run_password_command(account)
    if not _backend_usable():
        raise CredentialError(f"account {account.name!r}: {NO_KEYRING_HELP}")
    try:
        password = keyring.get_password(SERVICE, account.name)
    except keyring.errors.KeyringError as exc:
        raise CredentialError(f"account {account.name!r}: the keyring failed ({exc}); {NO_KEYRING_HELP}") from exc
    if password is None:
        raise CredentialError(
            f"account {account.name!r}: no password stored; run `tui-desk account add` again "
            "or set password_command"
        )
    return password


def set_password(account_name: str, password: str) -> None:
    if not _backend_usable():
        raise CredentialError(NO_KEYRING_HELP)
    try:
        keyring.set_password(SERVICE, account_name, password)
    except keyring.errors.KeyringError as exc:
        raise CredentialError(f"could not store the password: {exc}; {NO_KEYRING_HELP}") from exc


def delete_password(account_name: str) -> None:
    try:
        keyring.delete_password(SERVICE, account_name)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as exc:
        raise CredentialError(f"could not remove the password: {exc}") from exc


def _run_password_command(account: Account) -> str:
    try:
        done = subprocess.run(
            shlex.split(account.password_command), capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, ValueError) as exc:
        raise CredentialError(f"account {account.name!r}: password_command failed to start: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise CredentialError(f"account {account.name!r}: password_command did not finish in 60 s") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise CredentialError(f"account {account.name!r}: password_command failed: {detail[0]}")
    password = done.stdout.splitlines()[0] if done.stdout else ""
    if not password:
        raise CredentialError(f"account {account.name!r}: password_command printed nothing")
    return password
