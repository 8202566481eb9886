"""Experiment kinds: a name, default parameters (which define the valid keys) and a runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kbayes.experiment.errors import ConfigError

ENTRY_POINT_GROUP = "kbayes.kinds"
_KINDS: dict[str, ExperimentKind] = {}


@dataclass(frozen=True)
class ExperimentKind:
    """An experiment kind.

    Attributes:
        name: the ``kind:`` value in configs.
        run: ``run(ctx) -> pandas.DataFrame`` of score rows (see :mod:`kbayes.experiment.runner`).
        defaults: default parameters; a config's ``params`` may only use these keys (nested
            mappings are checked recursively, values must have the default's type).
        description: one line for ``kbayes kinds``.
    """

    name: str
    run: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def validate_params(self, params: dict[str, Any]) -> None:
        _check(params, self.defaults, "params")

    def resolve_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with the config's parameters."""
        return _merge(self.defaults, params)


def _check(given: dict[str, Any], defaults: dict[str, Any], where: str) -> None:
    for key, value in given.items():
        if key not in defaults:
            raise ConfigError(f"{where}.{key}: unknown parameter; allowed: {sorted(defaults)}")
        ref = defaults[key]
        if isinstance(ref, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key}: {value!r} must be a mapping")
            _check(value, ref, f"{where}.{key}")
        elif ref is not None and not _type_ok(value, ref):
            raise ConfigError(f"{where}.{key}: {value!r} must be of type {type(ref).__name__}")


def _type_ok(value: Any, ref: Any) -> bool:
    if isinstance(ref, bool):
        return isinstance(value, bool)
    if isinstance(ref, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(ref, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(ref))


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k, v in given.items():
        out[k] = _merge(defaults[k], v) if isinstance(defaults.get(k), dict) else v
    return out


def register_kind(kind: ExperimentKind) -> ExperimentKind:
    """Make ``kind`` known to configs (a plugin module calls this when imported)."""
    _KINDS[kind.name] = kind
    return kind


def load_entry_point_kinds(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Import the modules that installed packages declare under the ``kbayes.kinds`` entry-point
    group (each registers its kinds when imported); returns the entry points' names.

    kbayes itself imports no kind: the ``kbayes`` command registers the kinds that ship with it
    (``experiments/``) and calls this for the ones other packages add.
    """
    from importlib.metadata import entry_points

    names = []
    for ep in entry_points(group=group):
        ep.load()
        names.append(ep.name)
    return names


def known_kinds() -> list[str]:
    """Names of the registered kinds."""
    return sorted(_KINDS)


def get_kind(name: str) -> ExperimentKind:
    """The registered kind ``name``.

    Raises:
        ConfigError: No kind of that name is registered.
    """
    if name not in _KINDS:
        raise ConfigError(f"kind: {name!r} is not an experiment kind; known: {known_kinds()}")
    return _KINDS[name]
