"""Real-data importers for every file under ``shared/data`` (see each module's docstring)."""

from __future__ import annotations

from kbayes.io.importers.base import ImportContext, Importer, ImportIssue

IMPORTERS: list[Importer] = []


def register(importer: Importer) -> Importer:
    IMPORTERS.append(importer)
    return importer


def all_importers() -> list[Importer]:
    """Every registered importer, in run order."""
    # Imported for their side effect of registering.
    from kbayes.io.importers import kalshi, weather  # noqa: F401

    return sorted(IMPORTERS, key=lambda i: (i.order, i.name))


__all__ = ["IMPORTERS", "ImportContext", "ImportIssue", "Importer", "all_importers", "register"]
