"""What the pipeline knows now: the market state of one ladder and the weather of its station.

States are updated by events only (:mod:`kbayes.market.events`), in clock order, by the same
code in replay and live. Anything untrustworthy is a flag in the state (a stale, crossed or
never-snapshotted book, a missing weather step), never a silent number.
"""

from kbayes.state.market import BracketState, MarketState, TopOfBook
from kbayes.state.weather import WeatherState

__all__ = ["BracketState", "MarketState", "TopOfBook", "WeatherState"]
