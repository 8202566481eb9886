"""Shared fixtures: where the real data lives, and a clear skip when it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# tests that drive `kbayes run` must not write compiled programs to the user's cache
os.environ.setdefault("KBAYES_JAX_CACHE", "off")
SHARED_DATA = Path(os.environ.get("KBAYES_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it are skipped with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set KBAYES_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """A store with every real file under ``shared_data`` imported once per test session."""
    from kbayes.io.ingest import run_import
    from kbayes.io.store import DuckDBStore

    store = DuckDBStore(tmp_path_factory.mktemp("real") / "real.duckdb")
    report = run_import(shared_data, store)
    store.import_report = report  # type: ignore[attr-defined]
    yield store
    store.close()
