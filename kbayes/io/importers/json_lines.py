"""Reading JSON-lines files: one object per line, anything else reported and skipped."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from kbayes.io.importers.base import ImportContext


def json_objects(
    lines: Iterable[str], ctx: ImportContext, where: str = "line "
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of each non-blank line that holds a JSON object.

    A line that is not JSON, or JSON that is not an object, is an import issue with record
    ``f"{where}{line number}"`` and is skipped; blank lines are ignored.
    """
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            ctx.issue(f"{where}{i}", "", line[:80], f"line skipped: malformed JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            ctx.issue(f"{where}{i}", "", type(obj).__name__, "line skipped: not a JSON object")
            continue
        yield i, obj
