"""The server side of SIP over TLS (RFC 3261 §26.2.1, §26.3.1; RFC 5630).

sipfault is a test endpoint: it presents the certificate it is given and asks none of the
client, so phones and printers under test connect without a client certificate.
"""

from __future__ import annotations

import os
import ssl


def server_context(
    certificate: str | os.PathLike[str], key: str | os.PathLike[str] | None = None
) -> ssl.SSLContext:
    """A server context with this certificate chain and private key (PEM files).

    ``key`` may be omitted when the certificate file holds the key too. TLS 1.2 is the oldest
    version offered (RFC 8996 retires 1.0 and 1.1). Raises ``OSError`` for a missing file and
    ``ssl.SSLError`` for one that is not a matching certificate and key.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context
