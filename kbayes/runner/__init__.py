"""The one runner of replay and live (DESIGN.md section 2.1).

:class:`~kbayes.runner.loop.Runner` steps events into ladder pipelines
(:class:`~kbayes.runner.pipeline.LadderPipeline`: state, then components) and asks the
strategy at ticks; :mod:`kbayes.runner.replay` wires the store, tapes or simulator into it,
:mod:`kbayes.runner.live` the WebSocket client, the weather poller and a timer.
"""

from kbayes.runner.components import Component, TopColumns, WeatherColumns
from kbayes.runner.loop import Runner
from kbayes.runner.pipeline import LadderPipeline, LadderSpec, TickFrame
from kbayes.runner.sink import FrameSink

__all__ = [
    "Component",
    "FrameSink",
    "LadderPipeline",
    "LadderSpec",
    "Runner",
    "TickFrame",
    "TopColumns",
    "WeatherColumns",
]
