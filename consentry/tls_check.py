"""The one check ``consentry serve`` makes before serving https: the certificate and key load together.

Only the ``ssl`` module: the serving supervisor imports this, and stays free of ``cryptography``.
"""

from __future__ import annotations

import ssl
from pathlib import Path


def pair_problem(cert_file: Path, key_file: Path) -> str | None:
    """Why the server could not serve this certificate and key (one line), or None when it can."""
    for label, path in (("CONSENTRY_TLS_CERT_FILE", cert_file), ("CONSENTRY_TLS_KEY_FILE", key_file)):
        if not path.is_file():
            return f"{label}: no such file {path}"
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as exc:
        return f"cannot use CONSENTRY_TLS_CERT_FILE / CONSENTRY_TLS_KEY_FILE: {exc}"
    return None
