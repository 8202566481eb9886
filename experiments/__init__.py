"""Experiment kinds that ``configs/*.yaml`` instantiate (importing registers them)."""

from experiments import baselines  # noqa: F401
