"""Kalshi request signing: RSA-PSS over ``timestamp_ms + METHOD + path`` (kalshi-api.md §2).

Every authenticated REST request and every WebSocket handshake carries three headers:
``KALSHI-ACCESS-KEY`` (the key id), ``KALSHI-ACCESS-TIMESTAMP`` (Unix **milliseconds**) and
``KALSHI-ACCESS-SIGNATURE`` (base64 of the PSS signature, SHA-256, MGF1-SHA-256, salt = digest
length). The signed path includes ``/trade-api/v2`` and excludes the query string. PSS is
randomised, so a signature can only be checked with the public key (:func:`verify_headers`).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ENV_KEY_ID = "KALSHI_API_KEY_ID"
ENV_KEY_PATH = "KALSHI_PRIVATE_KEY_PATH"
HEADER_KEY = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def signing_path(url_or_path: str) -> str:
    """The path Kalshi signs: no scheme, host or query (``/trade-api/v2/markets``)."""
    return urlsplit(url_or_path).path or "/"


class AuthError(ValueError):
    """The key id or private key cannot be loaded."""


class Signer:
    """Signs requests with one API key.

    Attributes:
        key_id: The API key id sent as ``KALSHI-ACCESS-KEY``.
    """

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        """Wrap a loaded RSA private key.

        Raises:
            AuthError: If the key id is empty or the key is not RSA.
        """
        if not key_id:
            raise AuthError("empty Kalshi key id")
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise AuthError(f"Kalshi keys are RSA; got {type(private_key).__name__}")
        self.key_id = key_id
        self._key = private_key

    @classmethod
    def from_pem(cls, key_id: str, pem: bytes, password: bytes | None = None) -> Signer:
        """Load a PEM private key (PKCS#1 or PKCS#8)."""
        try:
            key = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise AuthError(f"cannot load the Kalshi private key: {first}") from exc
        return cls(key_id, key)  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, key_id: str, path: str | Path) -> Signer:
        """Load the private key from a PEM file."""
        try:
            pem = Path(path).expanduser().read_bytes()
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise AuthError(f"cannot read the Kalshi private key {str(path)!r}: {why}") from exc
        if b"-----BEGIN" not in pem:
            raise AuthError(
                f"Kalshi private key {str(path)!r} is not a PEM file (no '-----BEGIN' line); "
                "give the RSA key file downloaded with the key id"
            )
        try:
            return cls.from_pem(key_id, pem)
        except AuthError as exc:
            raise AuthError(f"Kalshi private key {str(path)!r}: {exc}") from exc

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        key_id: str | None = None,
        key_path: str | Path | None = None,
    ) -> Signer | None:
        """The signer configured by arguments or ``KALSHI_API_KEY_ID``/``KALSHI_PRIVATE_KEY_PATH``.

        Returns:
            ``None`` when neither a key id nor a key path is configured (public access only).

        Raises:
            AuthError: When only one of the two is configured, or the key cannot be loaded.
        """
        env = os.environ if env is None else env
        key_id = key_id or env.get(ENV_KEY_ID) or None
        key_path = key_path or env.get(ENV_KEY_PATH) or None
        if key_id is None and key_path is None:
            return None
        if key_path is None:
            raise AuthError(
                f"a Kalshi key id is set but no private key path: give --key-path or set "
                f"{ENV_KEY_PATH} (or neither, for public data)"
            )
        if key_id is None:
            raise AuthError(
                f"a Kalshi private key path is set but no key id: give --key-id or set "
                f"{ENV_KEY_ID} (or neither, for public data)"
            )
        return cls.from_file(key_id, key_path)

    def sign(self, timestamp_ms: str, method: str, path: str) -> str:
        """Base64 RSA-PSS signature of ``timestamp_ms + METHOD + path``."""
        msg = f"{timestamp_ms}{method.upper()}{signing_path(path)}".encode()
        return base64.b64encode(self._key.sign(msg, _pss(), hashes.SHA256())).decode("ascii")

    def headers(self, method: str, path: str, now_ms: int | None = None) -> dict[str, str]:
        """The three ``KALSHI-ACCESS-*`` headers, with a fresh millisecond timestamp."""
        ts = str(int(time.time() * 1000) if now_ms is None else now_ms)
        return {
            HEADER_KEY: self.key_id,
            HEADER_TIMESTAMP: ts,
            HEADER_SIGNATURE: self.sign(ts, method, path),
        }


def verify_headers(
    public_key: rsa.RSAPublicKey,
    headers: Mapping[str, str],
    method: str,
    path: str,
    *,
    key_id: str | None = None,
    now_ms: int | None = None,
    max_skew_ms: int = 60_000,
) -> str | None:
    """Check a request's ``KALSHI-ACCESS-*`` headers as the exchange would.

    Used by the test servers (and useful to debug 401s).

    Returns:
        ``None`` when valid, else the reason it is not.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    key, ts, sig = (lower.get(h.lower()) for h in (HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE))
    if not key or not ts or not sig:
        return "missing KALSHI-ACCESS-* header"
    if key_id is not None and key != key_id:
        return f"unknown key id {key!r}"
    if not ts.isdigit():
        return f"timestamp {ts!r} is not integer milliseconds"
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - int(ts)) > max_skew_ms:
        return f"timestamp {ts} is {abs(now - int(ts))} ms from now (seconds instead of ms?)"
    msg = f"{ts}{method.upper()}{signing_path(path)}".encode()
    try:
        public_key.verify(base64.b64decode(sig), msg, _pss(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return "bad signature"
    return None
