"""Signals: pure functions of features and model outputs to order intents."""

from kbayes.signals.strategy import DoNothing, Strategy, TickView

__all__ = ["DoNothing", "Strategy", "TickView"]
