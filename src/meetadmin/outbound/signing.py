"""The ``X-Spark-Signature`` header: lowercase hex HMAC-SHA1 of the exact body bytes, keyed by the secret."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Spark-Signature"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header.strip().lower())
