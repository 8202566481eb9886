"""Fixtures for the Kalshi client tests: a fresh RSA key and the recorded WS capture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kbayes.io.kalshi.auth import Signer

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """A key generated for this test session (never a real one)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def signer(rsa_key: rsa.RSAPrivateKey) -> Signer:
    return Signer(KEY_ID, rsa_key)


@pytest.fixture(scope="session")
def key_file(rsa_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session key as a PKCS#8 PEM file."""
    path = tmp_path_factory.mktemp("key") / "kalshi.pem"
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture(scope="session")
def ws_capture(shared_data: Path) -> dict:
    """The recorded orderbook_delta stream (josephsapinoso/kalshi-cockpit)."""
    path = shared_data / "kalshi" / "protocol_captures" / "cockpit_ws_orderbook_stream.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def captures(shared_data: Path) -> Path:
    path = shared_data / "kalshi" / "protocol_captures"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path
