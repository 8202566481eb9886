"""Kalshi market-data importers; importing a module registers its importers.

One module per idea: ``cpratim`` (trade tape and event metadata), ``markets`` (market metadata
tables and REST market pages), ``bbo`` (top of book), ``candles`` (OHLC bars), ``outcomes``
(winning brackets and a daily-high proxy), ``ws_import`` (recorded WebSocket frames),
``rest_import`` (recorded REST order books, fills, raw bodies); ``_import`` tells them from
the live client's :mod:`kbayes.io.kalshi.ws` and :mod:`kbayes.io.kalshi.rest`. ``ladders`` and
``tables`` hold the parsing they share; the field readers shared with the live client are
:mod:`kbayes.io.kalshi_wire`.
"""

from kbayes.io.importers.kalshi import (  # noqa: F401  (imported to register)
    bbo,
    candles,
    cpratim,
    markets,
    outcomes,
    rest_import,
    ws_import,
)
