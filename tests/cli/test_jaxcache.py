"""The persistent compilation cache of command-line runs: where it goes, and that it fills."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kbayes.cli.jaxcache import cache_dir


def test_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"KBAYES_JAX_CACHE": str(tmp_path / "c")}) == tmp_path / "c"
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "kbayes" / "jax"
    assert cache_dir({}) == Path.home() / ".cache" / "kbayes" / "jax"
    for off in ("off", "OFF", "0", "false", "no"):
        assert cache_dir({"KBAYES_JAX_CACHE": off}) is None
    # the user's own JAX setting wins over ours
    assert cache_dir({"JAX_COMPILATION_CACHE_DIR": "/x", "KBAYES_JAX_CACHE": "/y"}) is None


def _compile_once(folder: Path) -> str:
    """Enable the cache in a fresh interpreter (every program cached), compile one program."""
    code = (
        "import jax, jax.numpy as jnp\n"
        "from kbayes.cli.jaxcache import enable_compilation_cache\n"
        "print(enable_compilation_cache(min_compile_s=0.0))\n"
        "def f(x):\n"
        "    for k in range(20):\n"
        "        x = jnp.sin(x) * (k + 1.0) + jnp.cos(x[::-1])\n"
        "    return x\n"
        "jax.jit(f)(jnp.ones(64)).block_until_ready()\n"
    )
    env = {**os.environ, "KBAYES_JAX_CACHE": str(folder)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_enabled_cache_stores_compiled_programs(tmp_path: Path) -> None:
    folder = tmp_path / "jax"
    assert _compile_once(folder) == str(folder)
    entries = {p.name for p in folder.iterdir()}
    assert entries, "no compiled program was written to the cache"
    _compile_once(folder)  # the same program again: loaded, not added
    assert {p.name for p in folder.iterdir()} == entries
