"""Checking an SMTP login without sending anything (for `account test` and the setup screen)."""

from __future__ import annotations

import smtplib

from tui_desk.mail.connect import ServerSpec, set_nodelay, ssl_context, translate_errors
from tui_desk.mail.errors import AuthError, ProtocolError


def open_smtp(server: ServerSpec, username: str, password: str) -> smtplib.SMTP:
    """A connected, TLS-secured (as configured) and logged-in SMTP client."""
    with translate_errors(server, "connecting"):
        ctx = ssl_context(server)
        client: smtplib.SMTP
        if server.security == "tls":
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=ctx)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        set_nodelay(client.sock)
        try:
            client.ehlo()
            if server.security == "starttls":
                if not client.has_extn("starttls"):
                    raise ProtocolError(f"{server.host}:{server.port} does not offer STARTTLS")
                client.starttls(context=ctx)
                client.ehlo()
            if username:
                client.login(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc)
            raise AuthError(f"{server.host} refused the login for {username!r}: {exc.smtp_code} {detail}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            client.close()
            raise ProtocolError(f"{server.host}:{server.port} does not offer login (AUTH): {exc}") from exc
        except smtplib.SMTPException as exc:
            client.close()
            raise ProtocolError(f"{server.host}:{server.port}: {exc}") from exc
        except BaseException:
            client.close()
            raise
    return client


def check_smtp(server: ServerSpec, username: str, password: str) -> None:
    client = open_smtp(server, username, password)
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
