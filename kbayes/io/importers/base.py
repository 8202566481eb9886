"""The importer contract: one function per kind of real file, reporting what it skips.

An importer is ``load(path, ctx) -> None``. It parses one file (a tar archive counts as one
file), writes typed frames with ``ctx.write`` and reports every record it cannot use with
``ctx.issue`` (file, record, field, value, why), so nothing is dropped silently. An importer
that cannot read the file at all raises; the driver records that and goes on with other files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kbayes.io.store import Store


@dataclass(frozen=True)
class ImportIssue:
    """A record that was skipped (or a whole file), and why."""

    source_file: str
    record: str
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source_file}"
        if self.record:
            where += f" record {self.record}"
        if self.field:
            where += f" field {self.field}={self.value!r}"
        return f"{where}: {self.message}"


@dataclass
class ImportContext:
    """What an importer writes into: the store, plus the list of issues for its file."""

    root: Path
    store: Store
    source_file: str
    issues: list[ImportIssue] = field(default_factory=list)
    rows: int = 0

    def write(self, record_type: type, df: pd.DataFrame) -> int:
        n = self.store.write(record_type, df, self.source_file)
        self.rows += n
        return n

    def issue(self, record: object, field_name: str, value: object, message: str) -> None:
        self.issues.append(
            ImportIssue(self.source_file, str(record), field_name, str(value), message)
        )


@dataclass(frozen=True)
class Importer:
    """A named importer and the glob patterns (relative to the data root) it claims."""

    name: str
    patterns: tuple[str, ...]
    load: Callable[[Path, ImportContext], None]
    description: str = ""
    # Lower runs first: metadata (markets/events) before tapes that refer to it.
    order: int = 50
