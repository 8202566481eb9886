"""Append-only tapes of raw protocol frames: one JSON line per frame, one file per UTC day.

A tape line is ``{"t": <receive time, UTC ns>, "d": "in"|"out"|"ev", ...}``:

* ``"in"``: a frame as received, verbatim text in ``"raw"`` (even when it is not valid JSON);
* ``"out"``: a command we sent (``"raw"``), so a replay knows e.g. each sid's ``use_yes_price``;
* ``"ev"``: a connection event (``"ev": "connect"|"disconnect"``, plus details).

Durability: every batch is written with **one** ``os.write`` on an ``O_APPEND`` descriptor as
soon as it is received, so a crash or SIGKILL of the process loses nothing already received
(the kernel keeps written pages); ``fsync`` runs at least every ``fsync_interval_s`` (when
writes happen, or from :meth:`TapeWriter.sync_if_due` on a timer) against power loss. A file
that a crash left ending mid-line gets a newline before new lines are appended, so one torn
line can never swallow the next one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

TAPE_GLOB = "*.jsonl"


def _day(t_ns: int) -> str:
    return dt.datetime.fromtimestamp(t_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d")


class TapeWriter:
    """Writes tape lines into ``directory/<prefix>-YYYY-MM-DD.jsonl`` (UTC day of receipt).

    Attributes:
        directory: The tape folder.
        lines: Lines written by this writer.
    """

    def __init__(
        self,
        directory: str | Path,
        prefix: str = "kalshi",
        fsync_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the folder if needed; files are opened lazily per day."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.fsync_interval_s = fsync_interval_s
        self._clock = clock
        self._fd: int | None = None
        self._day: str | None = None
        self._dirty = False
        self._last_sync = clock()
        self.lines = 0

    def path_for(self, t_ns: int) -> Path:
        """The tape file that holds lines received at ``t_ns``."""
        return self.directory / f"{self.prefix}-{_day(t_ns)}.jsonl"

    def _open(self, day: str, t_ns: int) -> int:
        if self._fd is not None and self._day == day:
            return self._fd
        self.close()
        path = self.path_for(t_ns)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as fh:  # a torn last line from a crash: terminate it
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    os.write(fd, b"\n")
        self._fd, self._day = fd, day
        return fd

    def write(self, entries: Iterable[dict[str, Any]]) -> int:
        """Append one batch of entries (each needs ``"t"``, UTC ns); returns lines written."""
        by_day: dict[str, list[bytes]] = {}
        first_t: dict[str, int] = {}
        for e in entries:
            day = _day(e["t"])
            first_t.setdefault(day, e["t"])
            line = json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n"
            by_day.setdefault(day, []).append(line.encode())
        n = 0
        for day, lines in by_day.items():
            fd = self._open(day, first_t[day])
            data = b"".join(lines)
            view = memoryview(data)
            while view:  # os.write may be partial on some file systems
                view = view[os.write(fd, view) :]
            n += len(lines)
            self._dirty = True
        self.lines += n
        self.sync_if_due()
        return n

    def write_in(self, raw: str, t_ns: int | None = None) -> None:
        """Append one received frame (verbatim text)."""
        self.write([{"t": t_ns or time.time_ns(), "d": "in", "raw": raw}])

    def write_out(self, raw: str, t_ns: int | None = None) -> None:
        """Append one sent command (verbatim text)."""
        self.write([{"t": t_ns or time.time_ns(), "d": "out", "raw": raw}])

    def write_event(self, event: str, t_ns: int | None = None, **details: Any) -> None:
        """Append a connection event (``connect``/``disconnect``)."""
        self.write([{"t": t_ns or time.time_ns(), "d": "ev", "ev": event, **details}])

    def sync_if_due(self) -> bool:
        """``fsync`` when data is unsynced and the interval has passed; True if it synced."""
        if not self._dirty or self._fd is None:
            return False
        if self._clock() - self._last_sync < self.fsync_interval_s:
            return False
        self.sync()
        return True

    def sync(self) -> None:
        """``fsync`` now."""
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
        self._dirty = False
        self._last_sync = self._clock()

    def close(self) -> None:
        """Sync and close the current file."""
        if self._fd is not None:
            self.sync()
            os.close(self._fd)
        self._fd, self._day = None, None

    def __enter__(self) -> TapeWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclasses.dataclass(frozen=True, slots=True)
class TapeEntry:
    """One tape line: receive time (UTC ns), direction, raw text or event details."""

    t_ns: int
    d: str
    raw: str | None
    fields: dict[str, Any]
    path: Path
    line_no: int


class TapeFormatError(ValueError):
    """A tape line that is not a tape entry."""


def tape_files(directory: str | Path) -> list[Path]:
    """Tape files of a folder, oldest day first (or the file itself)."""
    p = Path(directory)
    return [p] if p.is_file() else sorted(p.glob(TAPE_GLOB))


def read_tape(directory: str | Path, *, strict: bool = True) -> Iterator[TapeEntry]:
    """Entries of every tape file, in file then line order.

    Args:
        directory: A tape folder or one tape file.
        strict: Raise on a bad line; otherwise skip it (a torn final line after a crash).

    Raises:
        TapeFormatError: On a line that is not a JSON tape entry (``strict``).
    """
    for path in tape_files(directory):
        with open(path, "rb") as fh:
            for i, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)  # ~4x json.loads; bad UTF-8 is a bad line too
                    if not isinstance(obj, dict) or not isinstance(obj.get("t"), int):
                        raise ValueError("not a tape entry")
                except ValueError as exc:
                    if strict:
                        raise TapeFormatError(f"{path}:{i}: {exc}: {line[:80]!r}") from exc
                    continue
                yield TapeEntry(obj["t"], str(obj.get("d")), obj.get("raw"), obj, path, i)
