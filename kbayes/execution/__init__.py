"""Execution: order intents, the broker protocol (paper fills, live orders), risk, ledger."""

from kbayes.execution.broker import Broker, RecordingBroker
from kbayes.execution.intents import Intent

__all__ = ["Broker", "Intent", "RecordingBroker"]
