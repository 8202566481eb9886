"""Weather importers (NCEI 5-minute ASOS, hourly METAR/SPECI, daily truth, forecasts, NWS text).

Importing the modules registers their importers. Everything under ``weather/`` is claimed
except ``weather/kalshi_results/`` (the Kalshi importers own it).
"""

# Imported for their side effect of registering importers.
from kbayes.io.importers.weather import (  # noqa: F401
    daily_truth,
    guidance,
    hourly_metar,
    ncei_5min_import,
    nws_text_import,
    visual_crossing_import,
)
