"""Weather importers (NCEI 5-minute ASOS, daily truth, forecasts, NWS text).

Importing the modules registers their importers. Everything under ``weather/`` is claimed
except ``weather/kalshi_results/`` (the Kalshi importers own it).
"""

from kbayes.io.importers.weather import ncei_5min  # noqa: F401
from kbayes.io.importers.weather import daily_truth  # noqa: F401
