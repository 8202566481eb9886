"""Reading tar archives member by member, so a truncated archive keeps its complete members.

A ``.tar.xz`` cut short (an interrupted download) raises as soon as the reader reaches the
missing bytes: inside the data of the last member, or at the next header. :func:`members`
ends the iteration there with an import issue naming the last complete member, and
:data:`READ_ERRORS` lets an importer skip (and report) the one member whose data is cut.
"""

from __future__ import annotations

import lzma
import tarfile
import zlib
from collections.abc import Iterator

from kbayes.io.importers.base import ImportContext

# What reading a truncated or corrupt archive raises (xz, gzip, tar headers, the file).
READ_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    tarfile.TarError,
    lzma.LZMAError,
    zlib.error,
    OSError,
)


def members(tar: tarfile.TarFile, ctx: ImportContext, label: str = "") -> Iterator[tarfile.TarInfo]:
    """The members of ``tar`` in order, stopping with an issue where the archive is cut.

    Args:
        tar: An archive opened for reading.
        ctx: Receives the issue (record ``<label>after member <name>``).
        label: Prefix of the issue's record (e.g. another archive's name).
    """
    last: str | None = None
    it = iter(tar)
    while True:
        try:
            member = next(it)
        except StopIteration:
            return
        except READ_ERRORS as exc:
            where = f"after member {last}" if last else "before its first member"
            ctx.issue(
                f"{label}{where}",
                "archive",
                "",
                f"archive truncated or corrupt ({type(exc).__name__}: {exc}); "
                "the members before it are kept",
            )
            return
        last = member.name
        yield member
