"""The embedded store: one DuckDB file, one table per record type, UTC timestamps.

The :class:`Store` protocol is all the rest of kbayes sees, so a server database (or object
storage with parquet) can replace :class:`DuckDBStore` later. Writes are keyed by
``source_file``: writing a file's rows again replaces them, which makes re-import idempotent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb
import pandas as pd

from kbayes.io.frames import conform
from kbayes.market.records import RECORD_BY_TABLE, RECORD_TYPES, sql_schema

_IMPORT_LOG = (
    "source_file VARCHAR PRIMARY KEY, sha256 VARCHAR, importer VARCHAR, "
    "rows BIGINT, imported_at TIMESTAMPTZ"
)
_IMPORT_ISSUES = (
    "source_file VARCHAR, record VARCHAR, field VARCHAR, value VARCHAR, message VARCHAR, "
    "logged_at TIMESTAMPTZ"
)


class StoreError(RuntimeError):
    """A store that cannot be opened: missing, not a DuckDB file, or locked.

    Attributes:
        path: The store file.
        read_only: Whether it was being opened read-only.
    """

    def __init__(self, message: str, path: str = "", read_only: bool = False) -> None:
        super().__init__(message)
        self.path, self.read_only = path, read_only


class StoreLockedError(StoreError):
    """Another process holds the store file open for writing (or we need to write)."""


@runtime_checkable
class Store(Protocol):
    """What kbayes needs from a store of typed records."""

    def write(self, record_type: type, df: pd.DataFrame, source_file: str) -> int:
        """Replace all rows of ``source_file`` in the record type's table by ``df``."""
        ...

    def read(
        self, table: str, where: str | None = None, params: list | None = None
    ) -> pd.DataFrame:
        """Rows of a table, optionally filtered by a SQL predicate with ``?`` parameters."""
        ...

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a read-only SQL query."""
        ...

    def count(self, table: str) -> int: ...

    def export_parquet(self, directory: Path) -> list[Path]:
        """Write one parquet file per table."""
        ...


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class DuckDBStore:
    """A :class:`Store` in one DuckDB file (or in memory with ``path=":memory:"``)."""

    def __init__(self, path: str | Path = ":memory:", read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            if read_only and not Path(self.path).is_file():
                raise StoreError(f"store {self.path!r} does not exist", self.path, read_only)
            if Path(self.path).is_dir():
                raise StoreError(f"store {self.path!r} is a folder, not a file", self.path)
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise StoreLockedError(
                    f"store {self.path!r} is in use by another process", self.path, read_only
                ) from exc
            if "not a valid DuckDB database" in text:
                raise StoreError(
                    f"store {self.path!r} is not a DuckDB database", self.path, read_only
                ) from exc
            raise StoreError(
                f"store {self.path!r} cannot be opened: {text.splitlines()[0]}",
                self.path,
                read_only,
            ) from exc
        self.con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            for rt in RECORD_TYPES:
                self.con.execute(f"CREATE TABLE IF NOT EXISTS {rt.TABLE} ({sql_schema(rt)})")
            self.con.execute(f"CREATE TABLE IF NOT EXISTS import_log ({_IMPORT_LOG})")
            self.con.execute(f"CREATE TABLE IF NOT EXISTS import_issues ({_IMPORT_ISSUES})")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ---------------------------------------------------------------------------
    def write(self, record_type: type, df: pd.DataFrame, source_file: str) -> int:
        frame = conform(record_type, df)
        if "source_file" in frame.columns:
            frame["source_file"] = source_file
        table = record_type.TABLE
        self.con.execute("BEGIN")
        try:
            self.con.execute(f"DELETE FROM {table} WHERE source_file = ?", [source_file])
            self.con.register("_kb_frame", frame)
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _kb_frame")
            self.con.unregister("_kb_frame")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return len(frame)

    def write_records(self, record_type: type, records: Iterable[object], source_file: str) -> int:
        from kbayes.io.frames import records_to_frame

        return self.write(record_type, records_to_frame(record_type, records), source_file)

    def log_import(self, source_file: str, sha256: str, importer: str, rows: int) -> None:
        self.con.execute("DELETE FROM import_log WHERE source_file = ?", [source_file])
        self.con.execute(
            "INSERT INTO import_log VALUES (?, ?, ?, ?, ?)",
            [source_file, sha256, importer, rows, dt.datetime.now(dt.UTC)],
        )

    def imported_hash(self, source_file: str) -> str | None:
        row = self.con.execute(
            "SELECT sha256 FROM import_log WHERE source_file = ?", [source_file]
        ).fetchone()
        return row[0] if row else None

    def log_issues(self, source_file: str, issues: list[tuple[str, str, str, str]]) -> None:
        self.con.execute("DELETE FROM import_issues WHERE source_file = ?", [source_file])
        now = dt.datetime.now(dt.UTC)
        if issues:
            self.con.executemany(
                "INSERT INTO import_issues VALUES (?, ?, ?, ?, ?, ?)",
                [(source_file, r, f, v, m, now) for r, f, v, m in issues],
            )

    # --- reads ----------------------------------------------------------------------------
    def read(
        self, table: str, where: str | None = None, params: list | None = None
    ) -> pd.DataFrame:
        if table not in RECORD_BY_TABLE and table not in ("import_log", "import_issues"):
            raise KeyError(f"unknown table {table!r}; tables: {sorted(RECORD_BY_TABLE)}")
        sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
        return self.query(sql, params)

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        cur = self.con.execute(sql, params or [])
        date_cols = [d[0] for d in cur.description if str(d[1]) == "DATE"]
        with warnings.catch_warnings():
            # duckdb's pandas bridge uses a keyword pandas 3 deprecates; not ours to fix.
            warnings.filterwarnings("ignore", message="The inplace keyword")
            df = cur.df()
        for c in df.columns:
            if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                df[c] = df[c].dt.tz_convert("UTC")
        for c in date_cols:
            df[c] = pd.Series(
                [None if pd.isna(v) else v.date() for v in df[c]], index=df.index, dtype=object
            )
        return df

    def count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def export_parquet(self, directory: Path) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for table in [*RECORD_BY_TABLE, "import_log", "import_issues"]:
            path = directory / f"{table}.parquet"
            self.con.execute(f"COPY {table} TO '{path.as_posix()}' (FORMAT PARQUET)")
            out.append(path)
        return out
