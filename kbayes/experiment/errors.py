"""The error of an invalid experiment config (own module: config, registry and kinds raise it)."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid experiment config; the message names the file (when known), key and value."""
