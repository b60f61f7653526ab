"""Shared pytest fixtures. Keep this file to fixtures and hooks; helpers live in packages beside it.

Sections: mail host (Dovecot + SMTP + test CA; code in tests/mailhost/). Append new sections below.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mailhost import (
    DEFAULT_USERS,
    DovecotMissing,
    DovecotServer,
    MailHost,
    MailUser,
    Pki,
    SmtpServer,
    find_binaries,
    live_instances,
    make_pki,
    start_mailhost,
)

# =====================================================================================================
# Mail host
# =====================================================================================================

#: A test requesting any of these (directly or through another fixture) gets the ``mailhost`` marker and,
#: if it fails, the Dovecot log lines written while it ran.
MAIL_FIXTURES = frozenset({"mailhost", "make_dovecot", "mail_pki"})


def _require_dovecot() -> None:
    """Fail loudly (never skip: CI must not go green without the mail tests) when Dovecot is missing."""
    try:
        find_binaries()
    except DovecotMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def mail_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Trusted and untrusted CA + server certificate PEMs, made once per session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def mailhost(mail_pki: Pki) -> Iterator[MailHost]:
    """The session's Dovecot (all capabilities) + SMTP server. Never stop/restart it in a test (use
    ``make_dovecot()`` for that) and make users with ``mail_user`` so tests don't see each other's mail."""
    _require_dovecot()
    host = start_mailhost(mail_pki)
    yield host
    host.close()  # raises if a Dovecot process survived


@pytest.fixture
def make_mail_user(mailhost: MailHost) -> Callable[..., MailUser]:
    """Factory: ``make_mail_user(name=None, password=None) -> MailUser`` on the session mail host."""
    return mailhost.add_user


@pytest.fixture
def mail_user(make_mail_user: Callable[..., MailUser]) -> MailUser:
    """A fresh user ``u<hex>`` with a random password and an empty mailbox: (name, password, address)."""
    return make_mail_user()


@pytest.fixture
def smtp_server(mailhost: MailHost) -> Iterator[SmtpServer]:
    """The session SMTP server with its knobs and ``sent`` list reset before and after the test."""
    mailhost.smtp.reset()
    yield mailhost.smtp
    mailhost.smtp.reset()


@pytest.fixture(scope="session")
def _shared_dovecots() -> Iterator[dict[tuple[Any, ...], DovecotServer]]:
    pool: dict[tuple[Any, ...], DovecotServer] = {}
    yield pool
    _close_all(pool.values())


@pytest.fixture
def make_dovecot(
    mail_pki: Pki, _shared_dovecots: dict[tuple[Any, ...], DovecotServer]
) -> Iterator[Callable[..., DovecotServer]]:
    """Factory for special Dovecot instances, started and ready:

    ``make_dovecot(*, capabilities=None, untrusted_tls=False, users=None, shared=False) -> DovecotServer``

    - ``capabilities``: replaces ``imap_capability`` (e.g. ``mailhost.NO_CONDSTORE_CAPABILITIES``).
    - ``untrusted_tls``: serve the certificate of the CA that no client trusts.
    - ``users``: name -> password (default: support/customer/agent2 with ``secret``).
    - ``shared=False``: a private instance, closed after the test (free to stop/restart it).
      ``shared=True``: one instance per option set for the whole session; never stop it, add your own users.
    """
    _require_dovecot()
    owned: list[DovecotServer] = []

    def factory(
        *,
        capabilities: str | None = None,
        untrusted_tls: bool = False,
        users: dict[str, str] | None = None,
        shared: bool = False,
    ) -> DovecotServer:
        tls = mail_pki.untrusted if untrusted_tls else mail_pki.trusted
        if shared:
            if users is not None:
                raise ValueError("shared instances have the default users; call add_user() for more")
            key = (capabilities, untrusted_tls)
            if key not in _shared_dovecots:
                server = DovecotServer(tls, users=dict(DEFAULT_USERS), capabilities=capabilities)
                _shared_dovecots[key] = server
                server.start()
            return _shared_dovecots[key]
        server = DovecotServer(
            tls, users=dict(DEFAULT_USERS if users is None else users), capabilities=capabilities
        )
        owned.append(server)
        server.start()
        return server

    yield factory
    _close_all(owned)


def _close_all(servers: Iterable[DovecotServer]) -> None:
    """Close every server even if one fails, then report the first failure (e.g. a surviving process)."""
    errors = []
    for server in servers:
        try:
            server.close()
        except RuntimeError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MAIL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mailhost)


_log_offsets = pytest.StashKey[dict[str, int]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Remember where each running Dovecot's log ends, to show only this test's lines if it fails."""
    item.stash[_log_offsets] = {s.instance_name: _log_size(s.log_path) for s in live_instances()}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the Dovecot log lines written during a failed mail test (dovecot-lda and auth failures are
    explained only there)."""
    report = yield
    if report.failed and MAIL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        offsets = item.stash.get(_log_offsets, {})
        for server in live_instances():
            lines = _read_from(server.log_path, offsets.get(server.instance_name, 0)).splitlines()
            if lines:
                report.sections.append((f"Dovecot log {server!r} (this test)", "\n".join(lines[-200:])))
    return report


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


# =====================================================================================================
# Credentials: the real keyring API with an in-memory backend (never the developer's own keyring)
# =====================================================================================================


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[Any]:
    """Every test gets an empty in-memory keyring; a test that needs "no keyring at all" sets
    `keyring.set_keyring(keyring.backends.fail.Keyring())` itself."""
    import keyring
    from support.keyrings import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


# =====================================================================================================
# Terminal UI: a small fixed desk (tests/support/ui_desk.py) and a service over it
# =====================================================================================================


@pytest.fixture
def ui_desk(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A data directory holding the fixed UI desk, and name -> ticket ref for its tickets."""
    from support.ui_desk import build_desk

    data = tmp_path / "desk"
    return data, build_desk(data)
