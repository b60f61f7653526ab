"""Building tui-desk Account settings that point at the test mail host."""

from __future__ import annotations

from tui_desk.config import Account, Server


def imap_server(host: str, port: int, ca_file: str, security: str = "starttls", **kw: object) -> Server:
    return Server(host=host, port=port, security=security, ca_file=ca_file, timeout=10.0, **kw)  # type: ignore[arg-type]


def account_for(mailhost: object, user: object, *, name: str = "support", security: str = "starttls",
                imap_port: int | None = None, **kw: object) -> Account:
    """An Account for `user` (a MailUser) on `mailhost` (a MailHost or DovecotServer)."""
    host = mailhost.host  # type: ignore[attr-defined]
    ca = str(mailhost.ca_file)  # type: ignore[attr-defined]
    port = imap_port or (mailhost.imaps_port if security == "tls" else mailhost.imap_port)  # type: ignore[attr-defined]
    smtp_port = getattr(mailhost, "smtp_port", None)
    smtp = Server(host=host, port=smtp_port, security="starttls", ca_file=ca, timeout=10.0) if smtp_port else None
    return Account(
        name=name, email=user.address, username=user.name,  # type: ignore[attr-defined]
        imap=imap_server(host, port, ca, security), smtp=smtp, display_name="Example Support", **kw,  # type: ignore[arg-type]
    )  # fmt: skip
