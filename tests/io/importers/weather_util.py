"""Helpers for the weather importer tests: run one loader into an in-memory store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kbayes.io.importers.base import ImportContext
from kbayes.io.store import DuckDBStore


def run_loader(
    load: Callable[[Path, ImportContext], None],
    path: Path,
    root: Path | None = None,
    store: DuckDBStore | None = None,
) -> tuple[DuckDBStore, ImportContext]:
    """Run ``load(path, ctx)`` against a fresh (or the given) store; return store and context."""
    store = store if store is not None else DuckDBStore()
    root = root if root is not None else path.parent
    ctx = ImportContext(root=root, store=store, source_file=str(path.relative_to(root)))
    load(path, ctx)
    return store, ctx


def issue_fields(ctx: ImportContext) -> list[str]:
    """The ``field`` of every issue, in order."""
    return [i.field for i in ctx.issues]
