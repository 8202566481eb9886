"""Config-driven experiments: validated configs, data loading, kinds, scoring and reports."""

from kbayes.experiment.config import DecisionTime, ExperimentConfig, load_config, parse_config
from kbayes.experiment.context import RunContext
from kbayes.experiment.errors import ConfigError
from kbayes.experiment.registry import ExperimentKind, get_kind, known_kinds, register_kind
from kbayes.experiment.runner import run_experiment, score_forecasts

__all__ = [
    "ConfigError",
    "DecisionTime",
    "ExperimentConfig",
    "ExperimentKind",
    "RunContext",
    "get_kind",
    "known_kinds",
    "load_config",
    "parse_config",
    "register_kind",
    "run_experiment",
    "score_forecasts",
]
