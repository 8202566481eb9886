"""Kalshi market-data importers."""
