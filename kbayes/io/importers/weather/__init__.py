"""Weather importers (NCEI 5-minute ASOS, daily truth, forecasts, NWS text).

Importing the modules registers their importers. Everything under ``weather/`` is claimed
except ``weather/kalshi_results/`` (the Kalshi importers own it).
"""

# Imported for their side effect of registering importers.
from kbayes.io.importers.weather import (  # noqa: F401
    daily_truth,
    guidance,
    ncei_5min,
    nws_text,
    visualcrossing,
)
