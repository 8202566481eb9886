"""Errors of the Kalshi clients; each names the endpoint, the HTTP status and Kalshi's code."""

from __future__ import annotations

import json


class KalshiError(Exception):
    """Base error of the Kalshi clients.

    Attributes:
        endpoint: ``METHOD /path`` of the request (no host, no query).
        status: HTTP status, or ``None`` when no response arrived.
        code: Kalshi's error ``code`` (``"bad_request"``, ``"not_found"`` …) when the body had one.
        message: Kalshi's ``message`` (or the plain error string), else a description.
        details: Kalshi's ``details`` when present.
    """

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        parts = [endpoint]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code:
            parts.append(f"code={code}")
        text = f"{' '.join(parts)}: {message}"
        if details:
            text += f" ({details})"
        super().__init__(text)


class KalshiHTTPError(KalshiError):
    """A non-2xx response (after retries for 429/5xx)."""


class KalshiTransportError(KalshiError):
    """No response: timeout or connection failure (after retries)."""


class KalshiSchemaError(KalshiError):
    """A 2xx body that is not JSON, not the expected shape, or lacks a required field.

    Attributes:
        field: The missing or malformed field, when one is to blame.
    """

    def __init__(self, endpoint: str, message: str, *, field: str | None = None, **kw) -> None:
        self.field = field
        super().__init__(endpoint, message if field is None else f"{field}: {message}", **kw)


def parse_error_body(text: str) -> tuple[str | None, str, str | None]:
    """``(code, message, details)`` of a Kalshi error body.

    Observed shapes (kalshi-api.md §3.1): ``{"error": {"code", "message", "details"}}``,
    the bare ``{"code", "message", "details"}``, and ``{"error": "too many requests"}`` (429).
    Anything else (HTML from a proxy, empty) becomes the message, truncated.
    """
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None, (text.strip()[:200] or "empty body"), None
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, str):
        return None, err, None
    if not isinstance(err, dict):
        return None, str(err)[:200], None
    code = err.get("code")
    details = err.get("details")
    return (
        None if code is None else str(code),
        str(err.get("message") or code or "error"),
        None if details in (None, "") else str(details),
    )
