"""Experiment configs: YAML in, a validated frozen config out, or an error naming the key.

A config names the data (the built-in simulator, an existing store, or a folder of real files
to import), the cities and dates, a time split, the experiment kind and its parameters, the
decision times and the output folder::

    name: demo
    kind: baselines
    seed: 0
    data:
      source: sim            # sim | store | path
      sim: {start: 2024-01-01, n_days: 60, cities: [NY, CHI, MIA]}
      cities: [NY, CHI, MIA] # optional filter
      start: 2024-01-01      # optional filter on the climate date
      end: 2024-12-31
    split: {train_end: 2024-02-10}   # train: date <= train_end, test: after
    decision_times: ["T-1 20:00", "08:00", "11:00", "14:00", "17:00"]
    params: {...}            # kind-specific
    output: runs/demo
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kbayes.experiment.errors import ConfigError
from kbayes.experiment.registry import get_kind, known_kinds
from kbayes.market.cities import UnknownCityError, city_of

DEFAULT_DECISION_TIMES = ("T-1 20:00", "08:00", "11:00", "14:00", "17:00")
_DT_RE = re.compile(r"^(?:T-(?P<back>\d+)\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})$")


@dataclass(frozen=True)
class DecisionTime:
    """A local-standard-time clock time relative to the climate day (``T-1 20:00``)."""

    label: str
    days_before: int
    hour: int
    minute: int

    @classmethod
    def parse(cls, text: str) -> DecisionTime:
        m = _DT_RE.match(str(text).strip())
        if not m:
            raise ConfigError(
                f"decision_times: {text!r} is not 'HH:MM' or 'T-<days> HH:MM' (local standard time)"
            )
        h, mi = int(m.group("h")), int(m.group("m"))
        if h > 23 or mi > 59:
            raise ConfigError(f"decision_times: {text!r} is not a valid clock time")
        back = int(m.group("back") or 0)
        label = f"T-{back} {h:02d}:{mi:02d}" if back else f"{h:02d}:{mi:02d}"
        return cls(label, back, h, mi)

    def instant(self, city_key: str, day: dt.date) -> dt.datetime:
        """UTC instant of this decision time for ``city``'s climate day ``day``."""
        return city_of(city_key).lst_time(day, self.hour, self.minute, -self.days_before)


@dataclass(frozen=True)
class DataConfig:
    source: str
    sim: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    store: str | None = None
    cities: tuple[str, ...] | None = None
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class SplitConfig:
    train_end: dt.date
    test_start: dt.date


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    kind: str
    seed: int
    data: DataConfig
    split: SplitConfig
    decision_times: tuple[DecisionTime, ...]
    params: dict[str, Any]
    output: str
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of the raw config."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("raw")
        return d


_TOP_KEYS = {
    "name",
    "kind",
    "seed",
    "data",
    "split",
    "decision_times",
    "params",
    "output",
    "description",
}
_DATA_KEYS = {"source", "sim", "path", "store", "cities", "start", "end"}
_SPLIT_KEYS = {"train_end", "test_start"}
_SOURCES = ("sim", "store", "path")


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ConfigError(f"{key}: {value!r} must be a date (YYYY-MM-DD), not a datetime")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _unknown(d: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")


def parse_config(raw: dict[str, Any], base_dir: Path | None = None) -> ExperimentConfig:
    """Validate a config mapping.

    Args:
        raw: the parsed YAML mapping.
        base_dir: folder that relative ``data.path``/``data.store`` are resolved against
            (the config file's folder's parent, i.e. the repo root, by convention: paths are
            relative to the working directory when ``None``).

    Raises:
        ConfigError: naming the first bad key and value.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a mapping at top level, got {type(raw).__name__}")
    _unknown(raw, _TOP_KEYS, "config")
    for key in ("kind", "data", "split"):
        if key not in raw:
            raise ConfigError(f"config: missing required key {key!r}")
    kind = raw["kind"]
    if kind not in known_kinds():
        raise ConfigError(f"kind: {kind!r} is not an experiment kind; known: {known_kinds()}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed: {seed!r} must be a non-negative integer")

    data_raw = raw["data"]
    if not isinstance(data_raw, dict):
        raise ConfigError(f"data: expected a mapping, got {data_raw!r}")
    _unknown(data_raw, _DATA_KEYS, "data")
    source = data_raw.get("source")
    if source not in _SOURCES:
        raise ConfigError(f"data.source: {source!r} must be one of {list(_SOURCES)}")
    if source == "path" and not data_raw.get("path"):
        raise ConfigError("data.path: required when data.source is 'path'")
    if source == "store" and not data_raw.get("store"):
        raise ConfigError("data.store: required when data.source is 'store'")
    cities = data_raw.get("cities")
    if cities is not None:
        if not isinstance(cities, list) or not cities:
            raise ConfigError(f"data.cities: {cities!r} must be a non-empty list of city keys")
        try:
            cities = tuple(city_of(c).key for c in cities)
        except UnknownCityError as exc:
            raise ConfigError(f"data.cities: {exc.args[0]}") from exc
    sim = data_raw.get("sim") or {}
    if not isinstance(sim, dict):
        raise ConfigError(f"data.sim: expected a mapping, got {sim!r}")
    if source == "sim":
        sim = _sim_kwargs(sim)
        sim_config(sim, seed)  # every value is checked now, before anything is created
    start = _date(data_raw["start"], "data.start") if data_raw.get("start") else None
    end = _date(data_raw["end"], "data.end") if data_raw.get("end") else None
    if start and end and end < start:
        raise ConfigError(f"data.end: {end} is before data.start {start}")

    def _path(p: str | None) -> str | None:
        if p is None:
            return None
        return str((base_dir / p) if base_dir and not Path(p).is_absolute() else Path(p))

    data = DataConfig(
        source, sim, _path(data_raw.get("path")), _path(data_raw.get("store")), cities, start, end
    )

    split_raw = raw["split"]
    if not isinstance(split_raw, dict) or "train_end" not in split_raw:
        raise ConfigError(f"split: expected a mapping with train_end, got {split_raw!r}")
    _unknown(split_raw, _SPLIT_KEYS, "split")
    train_end = _date(split_raw["train_end"], "split.train_end")
    test_start = _date(
        split_raw.get("test_start", train_end + dt.timedelta(days=1)), "split.test_start"
    )
    if test_start <= train_end:
        raise ConfigError(f"split.test_start: {test_start} must be after train_end {train_end}")

    dts_raw = raw.get("decision_times", list(DEFAULT_DECISION_TIMES))
    if not isinstance(dts_raw, list) or not dts_raw:
        raise ConfigError(f"decision_times: {dts_raw!r} must be a non-empty list")
    dts = tuple(DecisionTime.parse(x) for x in dts_raw)
    labels = [d.label for d in dts]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"decision_times: duplicates in {labels}")

    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"params: expected a mapping, got {params!r}")
    get_kind(kind).validate_params(params)
    name = str(raw.get("name") or kind)
    output = raw.get("output") or f"runs/{name}"
    return ExperimentConfig(
        name, kind, seed, data, SplitConfig(train_end, test_start), dts, params, str(output), raw
    )


def _sim_kwargs(sim: dict[str, Any]) -> dict[str, Any]:
    """``data.sim`` checked key by key and typed (dates, city tuples), as ``SimConfig`` takes it."""
    from dataclasses import fields

    from kbayes.sim import SimConfig
    from kbayes.sim.climate import CLIMATE
    from kbayes.sim.market import MarketParams

    allowed = {f.name: f.default for f in fields(SimConfig)}
    _unknown(sim, set(allowed), "data.sim")
    out: dict[str, Any] = {}
    for key, value in sim.items():
        where = f"data.sim.{key}"
        ref = allowed[key]
        if key == "start":
            out[key] = _date(value, where)
        elif key == "cities":
            if not isinstance(value, list | tuple) or not value:
                raise ConfigError(f"{where}: {value!r} must be a non-empty list of city keys")
            keys = []
            for c in value:
                try:
                    k = city_of(c).key
                except UnknownCityError as exc:
                    raise ConfigError(f"{where}: {exc.args[0]}") from exc
                if k not in CLIMATE:
                    raise ConfigError(
                        f"{where}: {c!r} has no simulator climate; simulated: {sorted(CLIMATE)}"
                    )
                keys.append(k)
            out[key] = tuple(keys)
        elif key == "market":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a mapping, got {value!r}")
            market = {f.name: f.default for f in fields(MarketParams)}
            _unknown(value, set(market), where)
            for k, v in value.items():
                if not _same_type(v, market[k]):
                    raise ConfigError(
                        f"{where}.{k}: {v!r} must be of type {type(market[k]).__name__}"
                    )
            out[key] = MarketParams(**value)
        elif not _same_type(value, ref):
            raise ConfigError(f"{where}: {value!r} must be of type {type(ref).__name__}")
        elif isinstance(ref, int) and value < (0 if key in ("seed", "n_prior_years") else 1):
            what = "non-negative" if key in ("seed", "n_prior_years") else "positive"
            raise ConfigError(f"{where}: {value!r} must be a {what} integer")
        else:
            out[key] = value
    return out


def _same_type(value: Any, ref: Any) -> bool:
    if isinstance(ref, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(ref, bool)
    if isinstance(ref, float):
        return isinstance(value, int | float)
    return isinstance(value, type(ref))


def sim_config(sim: dict[str, Any], seed: int) -> Any:
    """The :class:`kbayes.sim.SimConfig` of checked ``data.sim`` values (the config's seed
    unless ``data.sim.seed`` is given).

    Raises:
        ConfigError: a combination the simulator refuses (e.g. ``knot_minutes``).
    """
    from kbayes.sim import SimConfig

    kwargs = {"seed": seed, **sim}
    try:
        return SimConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"data.sim: {exc}") from exc


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, with the mistakes it hides turned into errors."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigError(
                f"line {line}: duplicate key {key!r} (first on line {seen[key]}); "
                "YAML would keep only the last"
            )
        seen[key] = line
    return loader.construct_mapping(node)


def _timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise ConfigError(
            f"line {node.start_mark.line + 1}: {node.value!r} is not a valid date ({exc})"
        ) from exc


def _int(loader: _Loader, node: yaml.ScalarNode) -> int:
    value = loader.construct_yaml_int(node)
    if ":" in str(node.value):  # YAML 1.1 base 60: 14:00 is 840
        raise ConfigError(
            f"line {node.start_mark.line + 1}: {node.value} unquoted is read by YAML as the "
            f'number {value} (base-60 minutes); quote it: "{node.value}"'
        )
    return value


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor("tag:yaml.org,2002:int", _int)


def read_yaml(text: str) -> Any:
    """Parse config YAML; a duplicate key, an impossible date or an unquoted ``HH:MM`` (base
    60 in YAML 1.1) is a :class:`ConfigError` naming its line."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {' '.join(str(exc).split())}") from exc


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a YAML config file.

    Raises:
        ConfigError: the message starts with the file's path.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        return parse_config(read_yaml(path.read_text()), base_dir=Path.cwd())
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
