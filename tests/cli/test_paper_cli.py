"""`kbayes paper`: a few seconds against the local Kalshi-like server, the dashboard, errors."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from kbayes.cli import main
from kbayes.cli.dashboard import Dashboard, market_pmf
from kbayes.cli.errors import EXIT_AUTH, EXIT_CONFIG, EXIT_STREAM, EXIT_USAGE
from kbayes.cli.paper import ladder_tickers, parse_paper_config
from kbayes.experiment.errors import ConfigError
from kbayes.io.kalshi.rest import event_ticker_for
from kbayes.io.tape import read_tape
from kbayes.market.cities import city_of
from kbayes.runner import LadderPipeline, LadderSpec, TickFrame
from tests.io.kalshi.fake_exchange import (
    FakeExchange,
    generate_deltas,
    ref_from_script,
    synthetic_snapshots,
)


def _today_event() -> tuple[str, tuple[str, ...]]:
    city = city_of("NY")
    event = event_ticker_for(city, city.climate_day_of(dt.datetime.now(dt.UTC)))
    return event, tuple(f"{event}-B{40 + 2 * i}.5" for i in range(4))


@contextlib.contextmanager
def serving(script: list) -> Iterator[tuple[str, FakeExchange]]:
    """The fake exchange on its own event loop in a thread (the CLI runs asyncio.run)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[str, FakeExchange]:
        ex = FakeExchange(script, pace_every=10, pace_s=0.05)
        return await ex.start(), ex

    url, ex = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield url, ex
    finally:
        asyncio.run_coroutine_threadsafe(ex.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _config(tmp_path: Path, live: str, name: str = "paper") -> Path:
    """A paper config; the UKF is off here (its XLA compile alone is ~10 s: the live-vs-replay
    test in tests/runner/test_live.py runs it), the features are on."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: paper_test\nkind: replay\nparams:\n  tick_s: 0.25\n  ukf: {{enabled: false}}\n"
        f"live:\n{live}"
    )
    return path


def test_paper_streams_a_local_server_and_writes_the_tick_table(tmp_path: Path) -> None:
    event, tickers = _today_event()
    snaps = synthetic_snapshots(list(tickers), seed=1)
    script = snaps + generate_deltas(ref_from_script(snaps), 200, seed=2)
    cfg = _config(tmp_path, f"  ladders:\n    - event: {event}\n      tickers: {list(tickers)}\n")
    out = tmp_path / "out"
    with serving(script) as (url, ex):
        code = main(["paper", str(cfg), "--ws-url", url, "--out", str(out),
                     "--duration-s", "2.5", "--no-dashboard"])  # fmt: skip
    assert code == 0
    df = pd.read_parquet(out / "features" / f"{event}.parquet")
    assert set(df["ticker"]) == set(tickers) and len(df) % len(tickers) == 0
    assert len(df) // len(tickers) >= 6  # ~10 ticks of 0.25 s in 2.5 s
    assert {"bid", "ask", "mid", "last", "high_f", "wx_missing"} <= set(df.columns)
    last = df[df["t"] == df["t"].max()]
    assert last["mid"].notna().all() and (last["stale"] == 0).all()
    summary = json.loads((out / "paper.json").read_text())
    assert summary["ws"]["connects"] == 1 and summary["sync"]["gap"] == 0
    assert summary["frame_to_step_us"]["n"] > 100
    # Every frame the server sent is on the tape, and the intents log exists (paper: empty).
    assert [e.raw for e in read_tape(out / "tape") if e.d == "in"] == ex.sent
    assert len(pd.read_parquet(out / "intents.parquet")) == 0


def test_paper_dashboard_draws_the_ladder(tmp_path: Path, capsys) -> None:
    event, tickers = _today_event()
    snaps = synthetic_snapshots(list(tickers), seed=1)
    cfg = _config(tmp_path, f"  ladders:\n    - event: {event}\n      tickers: {list(tickers)}\n")
    with serving(snaps + generate_deltas(ref_from_script(snaps), 40, seed=2)) as (url, _):
        code = main(["paper", str(cfg), "--ws-url", url, "--out", str(tmp_path / "o"),
                     "--duration-s", "1.5"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0
    assert "mkt pmf" in err and "B40.5" in err and "stale books 0" in err and "seq gaps 0" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_paper_errors(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("KALSHI_API_KEY_ID", raising=False)
    monkeypatch.delenv("KALSHI_PRIVATE_KEY_PATH", raising=False)
    event, tickers = _today_event()
    good = _config(tmp_path, f"  ladders:\n    - event: {event}\n      tickers: {list(tickers)}\n")
    out = str(tmp_path / "o")

    def run(*argv: str) -> tuple[int, str]:
        code = main(["paper", *argv, "--out", out, "--no-dashboard"])
        return code, capsys.readouterr().err

    code, err = run(str(tmp_path / "nope.yaml"))
    assert code == EXIT_CONFIG and "does not exist" in err
    code, err = run(str(_config(tmp_path, "  nonsense: 1\n", "bad")))
    assert code == EXIT_CONFIG and "unknown key(s) ['nonsense']" in err
    code, err = run(str(good), "--ws-url", "http://127.0.0.1:1/x")
    assert code == EXIT_USAGE and "--ws-url" in err
    code, err = run(str(good))  # production needs a key
    assert code == EXIT_AUTH and "needs an API key" in err
    code, err = run(str(good), "--ws-url", "ws://127.0.0.1:1/x", "--duration-s", "0")
    assert code == EXIT_USAGE and "--duration-s" in err
    url = f"ws://127.0.0.1:{_free_port()}/trade-api/ws/v2"  # nothing listens there
    code, err = run(str(good), "--ws-url", url, "--duration-s", "1.0")
    assert code == EXIT_STREAM and "never connected" in err


def test_paper_config_checks() -> None:
    now = dt.datetime(2026, 12, 7, 15, tzinfo=dt.UTC)
    cfg = parse_paper_config(
        {"kind": "replay", "params": {"tick_s": 5.0}, "live": {"cities": ["NY", "MIA"]}}, now
    )
    assert cfg.params.tick_s == 5.0
    assert cfg.ladders == (("KXHIGHNY-26DEC07", None), ("KXHIGHMIA-26DEC07", None))
    bad = [
        ({"kind": "baselines", "live": {"cities": ["NY"]}}, "kind"),
        ({"kind": "replay"}, "live: missing"),
        ({"kind": "replay", "live": {}}, "no ladder"),
        ({"kind": "replay", "live": {"cities": ["XX"]}}, "live.cities[0]"),
        ({"kind": "replay", "live": {"events": ["NOPE"]}}, "live.events[0]"),
        ({"kind": "replay", "live": {"ladders": [{"event": "KXHIGHNY-26DEC07"}]}}, "tickers"),
        ({"kind": "replay", "params": {"tick_s": 0.0}, "live": {"cities": ["NY"]}}, "tick_s"),
        ({"kind": "replay", "params": {"nope": 1}, "live": {"cities": ["NY"]}}, "params.nope"),
        ({"kind": "replay", "live": {"cities": ["NY"], "date": "soon"}}, "live.date"),
        ({"kind": "replay", "live": {"cities": ["NY"], "channels": ["trade"]}}, "orderbook"),
    ]
    for raw, why in bad:
        with pytest.raises(ConfigError, match=why.replace("[", r"\[").replace("]", r"\]")):
            parse_paper_config(raw, now)


def _rest_market(event: str, suffix: str, strike: str, floor, cap, label: str) -> dict:
    return {"ticker": f"{event}-{suffix}", "event_ticker": event, "status": "active",
            "strike_type": strike, "floor_strike": floor, "cap_strike": cap,
            "yes_sub_title": label}  # fmt: skip


def test_ladder_from_rest_in_bracket_order() -> None:
    event = "KXHIGHNY-26DEC07"
    markets = [
        _rest_market(event, "B41.5", "between", 41, 42, "41° to 42°"),
        _rest_market(event, "T43", "greater", 42, None, "43° or above"),
        _rest_market(event, "T41", "less", None, 41, "40° or below"),
    ]
    asked: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        found = markets if request.url.params.get("event_ticker") == event else []
        return httpx.Response(200, json={"markets": found, "cursor": ""})

    rest = "https://rest.test/trade-api/v2"
    mock = httpx.MockTransport(handler)
    got = asyncio.run(ladder_tickers(event, rest, transport=mock))
    assert got == (f"{event}-T41", f"{event}-B41.5", f"{event}-T43")
    assert asked[0]["event_ticker"] == event
    with pytest.raises(ConfigError, match="has no markets"):
        asyncio.run(ladder_tickers("KXHIGHNY-26DEC08", rest, transport=mock))
    markets.pop(1)  # no upper tail: not a ladder
    with pytest.raises(ConfigError, match=event):
        asyncio.run(ladder_tickers(event, rest, transport=mock))


def test_dashboard_shows_the_ladder_pmf_features_and_status() -> None:
    event = "KXHIGHNY-26DEC07"
    tickers = (f"{event}-T40", f"{event}-B40.5", f"{event}-T41")
    spec = LadderSpec(event, tickers, "KNYC", 0, 2**62, 0, 2**62)
    cols = {
        "bid": [0.1, 0.5, 0.2], "ask": [0.2, 0.6, 0.3], "mid": [0.15, 0.55, 0.25],
        "last": [np.nan, 0.52, 0.21], "stale": [0.0, 1.0, 0.0], "pmf": [0.2, 0.5, 0.3],
        "velocity": [0.001, -0.002, 0.0005], "high_f": [41.2] * 3, "temp_f": [40.0] * 3,
        "wx_missing": [1.0] * 3,
    }  # fmt: skip
    dash = Dashboard(status=lambda: {"events": 12, "stale books": 1, "seq gaps": 2})
    dash.on_tick(LadderPipeline(spec, []), TickFrame(10**18, cols), ())
    console = Console(record=True, width=160)
    console.print(dash.render())
    text = console.export_text()
    assert "B40.5 stale" in text and "T41" in text
    pmf = market_pmf(cols["mid"])
    assert f"{pmf[1]:.3f}" in text and np.isclose(pmf.sum(), 1.0)
    assert "model pmf" in text and "velocity" in text and "-0.002" in text
    assert "high 41.2°F" in text and "WEATHER MISSING" in text
    assert "stale books 1" in text and "seq gaps 2" in text
    assert np.isnan(market_pmf([0.1, np.nan])).all()
