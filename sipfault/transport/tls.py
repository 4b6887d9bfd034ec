"""The server side of SIP over TLS (RFC 3261 §26.2.1, §26.3.1; RFC 5630).

sipfault is a test endpoint: it presents the certificate it is given and asks none of the
client, so phones and printers under test connect without a client certificate.

A certificate or key that cannot be used raises :class:`CertificateFileError`, which names the
file and what is wrong with it: missing, unreadable, not PEM, encrypted, or a key that does not
match the certificate.
"""

from __future__ import annotations

import os
import re
import ssl

__all__ = ["CertificateFileError", "server_context"]

_CERTIFICATE_RE = re.compile(rb"-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----")
_KEY_RE = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_ENCRYPTED_RE = re.compile(rb"-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4,ENCRYPTED")


class CertificateFileError(OSError):
    """A certificate or private key file that cannot be used.

    ``str()`` reads ``certificate tests/tls/cert.pem: no such file``; ``role`` is
    "certificate" or "private key", ``path`` the file, ``problem`` what is wrong.
    """

    def __init__(self, role: str, path: str, problem: str) -> None:
        super().__init__(f"{role} {path}: {problem}")
        self.role = role
        self.path = path
        self.problem = problem


class _Encrypted(Exception):
    """Raised by the passphrase callback: a key that needs a passphrase is refused."""


def _no_passphrase() -> str:
    # Without a callback OpenSSL would prompt on the terminal, and a server would hang.
    raise _Encrypted


def _read(path: str, role: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise CertificateFileError(role, path, "no such file") from None
    except IsADirectoryError:
        raise CertificateFileError(role, path, "is a directory, not a file") from None
    except PermissionError:
        raise CertificateFileError(role, path, "cannot be read (permission denied)") from None
    except OSError as exc:
        raise CertificateFileError(role, path, f"cannot be read ({exc.strerror})") from None


_MISMATCH = ("KEY_VALUES_MISMATCH", "NO_CERTIFICATE_ASSIGNED")
"""How OpenSSL says a key is not the certificate's (3.x drops the certificate, then finds none)."""


def _ssl_reason(error: ssl.SSLError) -> str:
    """``bad base64 decode``; OpenSSL's "PEM lib" without a reason says too little."""
    return error.reason.lower().replace("_", " ") if error.reason else "unreadable PEM data"


def server_context(
    certificate: str | os.PathLike[str], key: str | os.PathLike[str] | None = None
) -> ssl.SSLContext:
    """A server context with this certificate chain and private key (PEM files).

    ``key`` may be omitted when the certificate file holds the key too. TLS 1.2 is the oldest
    version offered (RFC 8996 retires 1.0 and 1.1). Raises :class:`CertificateFileError`
    (an ``OSError``) naming the file that is missing, unreadable, not PEM, holds an encrypted
    key, or a key that does not match the certificate.
    """
    cert_path = os.fsdecode(certificate)
    key_path = os.fsdecode(key) if key is not None else None
    cert_data = _read(cert_path, "certificate")
    if not _CERTIFICATE_RE.search(cert_data):
        raise CertificateFileError("certificate", cert_path,
                                   "not a PEM certificate (no -----BEGIN CERTIFICATE----- line)")
    key_role, key_file = ("private key", key_path) if key_path else ("certificate", cert_path)
    key_data = _read(key_path, "private key") if key_path else cert_data
    if not _KEY_RE.search(key_data):
        problem = ("not a PEM private key (no -----BEGIN PRIVATE KEY----- line)" if key_path
                   else "holds no private key (give the key file too)")
        raise CertificateFileError(key_role, key_file, problem)
    if _ENCRYPTED_RE.search(key_data):
        raise CertificateFileError(key_role, key_file,
                                   "the private key is encrypted (give one without a passphrase)")
    try:  # the certificate alone first, so that a broken one is named as such
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert_path)
    except ssl.SSLError as exc:
        raise CertificateFileError("certificate", cert_path,
                                   f"not a valid PEM certificate ({_ssl_reason(exc)})") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path, password=_no_passphrase)
    except _Encrypted:
        raise CertificateFileError(key_role, key_file, "the private key is encrypted "
                                   "(give one without a passphrase)") from None
    except ssl.SSLError as exc:
        if exc.reason in _MISMATCH:
            raise CertificateFileError(key_role, key_file,
                                       f"does not match the certificate {cert_path}") from None
        raise CertificateFileError(key_role, key_file,
                                   f"not a valid PEM private key ({_ssl_reason(exc)})") from None
    except OSError as exc:  # the files changed between the reads and now
        raise CertificateFileError(key_role, key_file, f"cannot be read ({exc})") from None
    return context
