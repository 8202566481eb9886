"""A persistent XLA compilation cache for command-line runs.

Compilation is much of a short run's wall time: the Hawkes Newton fit compiles for about 3 s
and then solves in about 15 ms, and the filters' scans and the NUTS sampler compile for longer.
JAX's persistent cache keeps compiled programs on disk, keyed by the program, its shapes and
the JAX/XLA versions and flags, so a repeated ``kbayes run`` loads them instead.

Where: ``$KBAYES_JAX_CACHE``, else ``$XDG_CACHE_HOME/kbayes/jax``, else
``~/.cache/kbayes/jax``. ``KBAYES_JAX_CACHE=off`` turns it off, and a
``JAX_COMPILATION_CACHE_DIR`` set by the user is left alone. The cache is per user: JAX treats
its contents as trusted code, so it must not be shared with other users.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import jax

ENV = "KBAYES_JAX_CACHE"
MIN_COMPILE_S = 0.25  # programs that compile faster are not worth a disk read


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The cache folder the environment asks for, or None when the cache is off or the user
    configured JAX's own variable."""
    if environ.get("JAX_COMPILATION_CACHE_DIR"):
        return None
    chosen = environ.get(ENV, "").strip()
    if chosen.lower() in ("off", "0", "false", "no"):
        return None
    if chosen:
        return Path(chosen).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kbayes" / "jax"


def enable_compilation_cache(
    environ: Mapping[str, str] = os.environ, min_compile_s: float = MIN_COMPILE_S
) -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir` (call before compiling).

    Args:
        environ: where to read ``KBAYES_JAX_CACHE`` and the other variables.
        min_compile_s: programs that compile faster than this are not cached.

    Returns:
        The folder in use, or None when off (or the folder cannot be created: a read-only
        home only costs the compile time).
    """
    folder = cache_dir(environ)
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_s)
    return folder
