"""The dovecot.conf of a private test instance, and the facts about this machine it depends on.

Why a separate module: the config encodes every pitfall met running Dovecot 2.3 from a test suite as root
(see shared/notes/dovecot-in-tests.md); keeping it in one readable template makes those choices reviewable.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INSTALL_HINT",
    "NO_CONDSTORE_CAPABILITIES",
    "SPECIAL_FOLDERS",
    "DovecotBinaries",
    "DovecotMissing",
    "MailIdentity",
    "find_binaries",
    "mail_identity",
    "render_config",
]

INSTALL_HINT = "apt-get update && apt-get install -y dovecot-imapd dovecot-lmtpd"

#: Dovecot 2.3's default post-login capability list minus CONDSTORE and QRESYNC. ``imap_capability`` cannot
#: remove a capability (``-CONDSTORE`` is taken literally), so the whole list has to be given. Hiding them does
#: not disable them: the server still accepts ENABLE QRESYNC and CHANGEDSINCE (note 8).
NO_CONDSTORE_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS "
    "THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED "
    "I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
    "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
)

#: Special-use folders every user gets (created and subscribed on first access).
SPECIAL_FOLDERS: dict[str, str] = {
    "Drafts": r"\Drafts",
    "Sent": r"\Sent",
    "Trash": r"\Trash",
    "Junk": r"\Junk",
    "Archive": r"\Archive",
}


class DovecotMissing(RuntimeError):
    """Dovecot (imapd + lmtpd) is not installed. The suite must fail loudly, never skip."""


@dataclass(frozen=True)
class DovecotBinaries:
    dovecot: str
    lda: str


def find_binaries() -> DovecotBinaries:
    """Locate ``dovecot`` and ``dovecot-lda``; raise :class:`DovecotMissing` with the install command if absent.

    Why also /usr/sbin: a CI shell's PATH may lack the sbin directories.
    """
    dovecot = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    libexec = Path("/usr/lib/dovecot")
    missing = []
    if not dovecot:
        missing.append("dovecot")
    if not (libexec / "imap").exists():
        missing.append("dovecot-imapd (/usr/lib/dovecot/imap)")
    if not (libexec / "lmtp").exists():
        missing.append("dovecot-lmtpd (/usr/lib/dovecot/lmtp)")
    if missing or dovecot is None:
        raise DovecotMissing(
            f"The mail-host tests need Dovecot 2.3; missing: {', '.join(missing)}. Install it with: {INSTALL_HINT}"
        )
    return DovecotBinaries(dovecot=dovecot, lda=str(libexec / "dovecot-lda"))


@dataclass(frozen=True)
class MailIdentity:
    """Who runs what. As root, login processes must not be root (dovenull) and mail processes refuse uid 0,
    so mail runs as nobody/nogroup (65534). As a normal user every one of these is simply that user."""

    is_root: bool
    mail_uid: int
    mail_gid: int
    login_user: str
    internal_user: str


def mail_identity() -> MailIdentity:
    if os.geteuid() == 0:
        return MailIdentity(True, 65534, 65534, "dovenull", "dovecot")
    me = pwd.getpwuid(os.geteuid()).pw_name
    return MailIdentity(False, os.geteuid(), os.getegid(), me, me)


def render_config(
    *,
    root: Path,
    base_dir: Path,
    instance_name: str,
    host: str,
    imap_port: int,
    imaps_port: int,
    cert_file: Path,
    key_file: Path,
    passwd_dir: Path,
    ident: MailIdentity,
    domain: str,
    capabilities: str | None,
) -> str:
    """Return the text of dovecot.conf for one instance (nothing outside ``root``/``base_dir`` is used)."""
    mailboxes = "\n".join(
        f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}"
        for name, flag in SPECIAL_FOLDERS.items()
    )
    uid_lines = (
        f"mail_uid = {ident.mail_uid}\nmail_gid = {ident.mail_gid}\n"
        f"first_valid_uid = {ident.mail_uid}\nlast_valid_uid = 0\nfirst_valid_gid = {ident.mail_gid}\n"
    )
    capability_line = f"  imap_capability = {capabilities}\n" if capabilities else ""
    return f"""# Private Dovecot instance for the tui-desk test suite (generated; see tests/mailhost/dovecot_conf.py).
instance_name = {instance_name}
base_dir = {base_dir}
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
log_timestamp = "%Y-%m-%d %H:%M:%S "
auth_verbose = yes
hostname = mail.{domain}
postmaster_address = postmaster@{domain}

protocols = imap lmtp
listen = {host}
shutdown_clients = yes

default_login_user = {ident.login_user}
default_internal_user = {ident.internal_user}
{uid_lines}
ssl = yes
ssl_cert = <{cert_file}
ssl_key = <{key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password must not cost every test two seconds.
auth_failure_delay = 0
# One passwd-file per user: Dovecot stats a passwd-file at most once a second, so a user appended to a shared
# file right after a lookup stays unknown for up to a second; a new file per user is read on first use.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {passwd_dir}/%n
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {passwd_dir}/%n
}}

mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}

# Keep delivered messages byte-identical to what was sent (no Received:/Delivered-To: added).
lmtp_add_received_header = no
lmtp_hdr_delivery_address = none
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes

protocol imap {{
  mail_max_userip_connections = 1000
{capability_line}}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service imap-urlauth-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
