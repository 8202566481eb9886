"""Import every real file under a data root into a store, with progress and a skip report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kbayes.io.importers import ImportContext, ImportIssue, all_importers
from kbayes.io.store import DuckDBStore, file_sha256


@dataclass
class ImportReport:
    """What an import did: rows per file, what it skipped and why, and how long it took."""

    files: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    issues: list[ImportIssue] = field(default_factory=list)
    unclaimed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.files.values())


def plan(root: Path) -> list[tuple[object, Path]]:
    """``(importer, path)`` pairs for every file an importer claims, in run order."""
    root = Path(root)
    seen: set[Path] = set()
    pairs = []
    for imp in all_importers():
        for pattern in imp.patterns:
            for path in sorted(root.glob(pattern)):
                if path.is_file() and path not in seen:
                    seen.add(path)
                    pairs.append((imp, path))
    return pairs


def unclaimed_files(root: Path) -> list[str]:
    """Data files under ``root`` that no importer claims (PROVENANCE notes excepted)."""
    claimed = {p for _, p in plan(root)}
    return sorted(
        str(p.relative_to(root))
        for p in Path(root).rglob("*")
        if p.is_file() and p not in claimed and p.suffix.lower() != ".md"
    )


def run_import(
    root: Path,
    store: DuckDBStore,
    force: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    only: set[str] | None = None,
) -> ImportReport:
    """Import all claimed files under ``root``; a failing file is reported and skipped.

    Args:
        root: the data folder (``../shared/data``).
        store: destination store.
        force: re-import files whose content hash is unchanged since the last import.
        progress: called as ``progress(file, done, total)`` after each file.
        only: restrict to these importer names.
    """
    root = Path(root)
    t0 = time.perf_counter()
    report = ImportReport()
    pairs = [(i, p) for i, p in plan(root) if only is None or i.name in only]
    for k, (imp, path) in enumerate(pairs):
        rel = str(path.relative_to(root))
        digest = file_sha256(path)
        if not force and store.imported_hash(rel) == digest:
            report.unchanged.append(rel)
        else:
            ctx = ImportContext(root=root, store=store, source_file=rel)
            try:
                imp.load(path, ctx)
            except Exception as exc:  # one bad file must not stop the others
                report.failed[rel] = f"{type(exc).__name__}: {exc}"
                ctx.issue("", "", "", f"file skipped: {type(exc).__name__}: {exc}")
            else:
                store.log_import(rel, digest, imp.name, ctx.rows)
                report.files[rel] = ctx.rows
            store.log_issues(rel, [(i.record, i.field, i.value, i.message) for i in ctx.issues])
            report.issues.extend(ctx.issues)
        if progress is not None:
            progress(rel, k + 1, len(pairs))
    report.unclaimed = unclaimed_files(root) if only is None else []
    report.seconds = time.perf_counter() - t0
    return report
