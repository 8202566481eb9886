"""Weather importers (NCEI 5-minute ASOS, daily truth, forecasts, NWS text)."""
