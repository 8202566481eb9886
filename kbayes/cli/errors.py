"""What ``kbayes`` says and returns when something the user gave is wrong.

Every error type of the project that a user can cause has its own exit code and label; the
top-level handler in :func:`kbayes.cli.main` prints ``kbayes: <label>: <message>`` on one line
(``--debug`` adds the traceback) and returns the code. Anything else is a bug and raises.

=====  ==================  =========================================================
code   label               raised for
=====  ==================  =========================================================
0                          success
1                          the command ran and its answer is "no" (a book not found,
                           ``data import --strict`` with a failed file)
2      usage error         a bad option value (a time, a URL, a path, a number); argparse
                           also exits 2 for a missing or unknown option
3      config error        :class:`~kbayes.experiment.errors.ConfigError`
4      store error         :class:`~kbayes.io.store.StoreError` (missing, not DuckDB, in use)
5      auth error          :class:`~kbayes.io.kalshi.auth.AuthError`,
                           :class:`~kbayes.io.kalshi.ws.WebSocketAuthError`
6      Kalshi API error    :class:`~kbayes.io.kalshi.errors.KalshiError` (HTTP status,
                           no answer, overall deadline, bad body)
7      stream error        :class:`~kbayes.io.kalshi.ws.WebSocketError` (never connected,
                           handshake refused, every subscription rejected)
8      tape error          :class:`~kbayes.io.tape.TapeFormatError`
=====  ==================  =========================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_STORE = 4
EXIT_AUTH = 5
EXIT_API = 6
EXIT_STREAM = 7
EXIT_TAPE = 8


class UsageError(ValueError):
    """A command-line option with a value that cannot be used; the message names both."""


def error_codes() -> list[tuple[type[BaseException], int, str]]:
    """``(error type, exit code, label)``, most specific first (the first match wins)."""
    from kbayes.experiment.errors import ConfigError
    from kbayes.io.kalshi.auth import AuthError
    from kbayes.io.kalshi.errors import KalshiError
    from kbayes.io.kalshi.ws import WebSocketAuthError, WebSocketError
    from kbayes.io.store import StoreError
    from kbayes.io.tape import TapeFormatError

    return [
        (UsageError, EXIT_USAGE, "usage error"),
        (ConfigError, EXIT_CONFIG, "config error"),
        (StoreError, EXIT_STORE, "store error"),
        (AuthError, EXIT_AUTH, "auth error"),
        (WebSocketAuthError, EXIT_AUTH, "auth error"),
        (KalshiError, EXIT_API, "Kalshi API error"),
        (WebSocketError, EXIT_STREAM, "stream error"),
        (TapeFormatError, EXIT_TAPE, "tape error"),
    ]


def classify(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and label of a project error, or ``None`` (a bug: let it raise)."""
    for kind, code, label in error_codes():
        if isinstance(exc, kind):
            return code, label
    return None


def one_line(exc: BaseException) -> str:
    """The error's message and notes (``add_note``) on one line."""
    parts = [str(exc) or type(exc).__name__, *getattr(exc, "__notes__", ())]
    return "; ".join(" ".join(p.split()) for p in parts)
