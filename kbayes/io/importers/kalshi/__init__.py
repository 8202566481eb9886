"""Kalshi market-data importers; importing a module registers its importers.

One module per idea: ``cpratim`` (trade tape and event metadata), ``markets`` (market
metadata tables), ``bbo`` (top of book), ``candles`` (OHLC bars), ``outcomes`` (winning brackets
and settlement proxies), ``ws`` (WebSocket frames), ``rest`` (REST captures: L2 books, fills,
raw bodies). ``wire`` and ``ladders`` hold the parsing they share.
"""

from kbayes.io.importers.kalshi import bbo, candles, cpratim, markets  # noqa: F401
