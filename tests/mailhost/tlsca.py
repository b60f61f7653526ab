"""A throw-away certificate authority for the test mail host.

Why: the app must verify server certificates for real (STARTTLS and implicit TLS), so the tests need a CA the
client can be told to trust, a server certificate for ``localhost``/``127.0.0.1`` signed by it, and a second,
unrelated CA whose certificate must be *rejected*. EC P-256 keys keep generation to a few milliseconds; the
fixtures still build the material once per session.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertAuthority", "Pki", "TlsFiles", "make_pki"]

_VALIDITY = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(days=1)  # tolerate small clock skew between the cert and the verifying side


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one server identity: the CA that signed it, the certificate and its private key."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this identity's CA (hostname checks stay on)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting this certificate (for aiosmtpd STARTTLS / implicit TLS)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx


@dataclass(frozen=True)
class Pki:
    """The session's TLS material: ``trusted`` is what the tests hand to clients; ``untrusted`` is a look-alike
    (same SANs) from a CA no client trusts, for "certificate verify failed" tests."""

    trusted: TlsFiles
    untrusted: TlsFiles


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tui-desk tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


class CertAuthority:
    """A self-signed CA able to issue server certificates. Carries the extensions (key usage, subject/authority
    key identifiers) that strict verifiers such as Python 3.13's ``VERIFY_X509_STRICT`` insist on."""

    def __init__(self, common_name: str) -> None:
        now = dt.datetime.now(dt.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def write_ca(self, path: Path) -> Path:
        """Write the CA certificate (PEM) and return its path."""
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path

    def issue_server(
        self,
        cert_path: Path,
        key_path: Path,
        dns_names: tuple[str, ...] = ("localhost",),
        ips: tuple[str, ...] = ("127.0.0.1",),
    ) -> None:
        """Issue a server certificate for the given names/addresses and write it and its key as PEM."""
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key()
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(dns_names[0] if dns_names else ips[0]))
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key_path, key)


def _identity(directory: Path, stem: str, ca_name: str) -> TlsFiles:
    ca = CertAuthority(ca_name)
    files = TlsFiles(
        ca_file=directory / f"{stem}-ca.pem",
        cert_file=directory / f"{stem}-server.pem",
        key_file=directory / f"{stem}-server.key",
    )
    ca.write_ca(files.ca_file)
    ca.issue_server(files.cert_file, files.key_file)
    return files


def make_pki(directory: Path) -> Pki:
    """Create the trusted and the untrusted CA/server pairs as PEM files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    return Pki(
        trusted=_identity(directory, "trusted", "tui-desk Test CA"),
        untrusted=_identity(directory, "untrusted", "tui-desk Untrusted CA"),
    )
