# ruff: noqa: E501
"""Weather clients against self-made responses shaped like the docs' examples (MockTransport)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from urllib.parse import parse_qs

import httpx
import pytest

from kbayes.io.weather.http import WeatherAPIError
from kbayes.io.weather.iem import IEMClient
from kbayes.io.weather.metar import t_group
from kbayes.io.weather.nws import NWSClient
from kbayes.io.weather.poller import ForecastEvent, GapEvent, ObsEvent, WeatherPoller
from kbayes.io.weather.visual_crossing import VisualCrossingClient, parse_timeline
from kbayes.market.cities import city_of

# weather-apis.md §2.3, element names per the docs.
VC_BODY = {
    "queryCost": 300, "latitude": 40.779, "longitude": -73.969, "resolvedAddress": "stn:KNYC",
    "address": "stn:KNYC", "timezone": "America/New_York", "tzoffset": -4.0,
    "days": [{
        "datetime": "2026-05-16", "datetimeEpoch": 1778904000, "tempmax": 79.0, "source": "comb",
        "stations": ["KNYC"],
        "hours": [
            {"datetime": "11:00:00", "datetimeEpoch": 1778943600, "temp": 76.1, "source": "obs",
             "stations": ["KNYC"], "minutes": [
                 {"datetime": "11:00:00", "datetimeEpoch": 1778943600, "temp": 76.1, "source": "obs"},
                 {"datetime": "11:05:00", "datetimeEpoch": 1778943900, "temp": 76.3, "source": "obs"},
                 {"datetime": "11:10:00", "datetimeEpoch": 1778944200, "temp": 76.6, "source": "obs"}]},
            {"datetime": "15:00:00", "datetimeEpoch": 1778958000, "temp": 78.4, "source": "fcst",
             "minutes": [{"datetime": "15:00:00", "datetimeEpoch": 1778958000, "temp": 78.4, "source": "fcst"}]},
        ],
    }],
    "stations": {"KNYC": {"name": "NEW YORK CENTRAL PARK", "latitude": 40.779, "longitude": -73.969, "distance": 0.0}},
    "currentConditions": {"datetime": "11:10:00", "datetimeEpoch": 1778944200, "temp": 76.6, "source": "obs", "stations": ["KNYC"]},
}  # fmt: skip

# weather-apis.md §3.2 (the verbatim KSEE feature, re-stationed; plus a METAR with a T group).
NWS_FEATURE = {
    "id": "https://api.weather.gov/stations/KNYC/observations/2026-05-16T14:47:00+00:00",
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.97, 40.78]},
    "properties": {
        "@id": "https://api.weather.gov/stations/KNYC/observations/2026-05-16T14:47:00+00:00",
        "@type": "wx:ObservationStation", "elevation": {"unitCode": "wmoUnit:m", "value": 40},
        "station": "https://api.weather.gov/stations/KNYC", "stationId": "KNYC",
        "stationName": "New York City, Central Park", "timestamp": "2026-05-16T14:47:00+00:00",
        "rawMessage": "", "textDescription": "Clear", "presentWeather": [],
        "temperature": {"unitCode": "wmoUnit:degC", "value": 24, "qualityControl": "V"},
        "dewpoint": {"unitCode": "wmoUnit:degC", "value": 14, "qualityControl": "V"},
        "maxTemperatureLast24Hours": {"unitCode": "wmoUnit:degC", "value": None},
    },
}  # fmt: skip

IEM_CSV = (
    "station,valid,tmpf,dwpf,metar\n"
    "NYC,2026-05-16 14:51,75.92,57.20,KNYC 161451Z AUTO 21006KT 10SM FEW055 24/14 A3001 RMK AO2 SLP163 T02440139\n"
    "NYC,2026-05-16 15:51,77.00,M,KNYC 161551Z AUTO 20007KT 10SM SCT060 25/13 A3000 RMK AO2 SLP160\n"
    "NYC,2026-05-16 16:51,M,M,M\n"
)  # fmt: skip


def test_metar_t_group() -> None:
    assert t_group("KNYC 161451Z 24/14 A3001 RMK AO2 SLP163 T02440139") == (24.4, 13.9)
    assert t_group("KDEN 010153Z M02/M05 RMK AO2 T10171050") == (-1.7, -5.0)
    assert t_group("KNYC 161551Z 25/13 A3000 RMK AO2 SLP160") is None


@pytest.mark.parametrize(
    "mode,include", [("nested", "days,hours,minutes,obs,fcst"), ("minutes_only", "minutes")]
)
def test_visual_crossing_station_locked_sub_hourly(mode: str, include: str, monkeypatch) -> None:
    monkeypatch.setenv("VISUAL_CROSSING_API_KEY", "k-123")
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=VC_BODY)

    vc = VisualCrossingClient(transport=httpx.MockTransport(handler))
    body = vc.timeline("KNYC", dt.date(2026, 5, 16), dt.date(2026, 5, 16), sub_hourly=mode)
    q = parse_qs(seen[0].url.query.decode())
    assert seen[0].url.path.endswith("/timeline/stn:KNYC/2026-05-16/2026-05-16")
    assert q["key"] == ["k-123"] and q["include"] == [include] and q["unitGroup"] == ["us"]
    assert q["options"] == ["nonulls,minuteinterval_5"] and q["maxStations"] == ["1"]
    assert vc.query_cost == 300
    issued = dt.datetime(2026, 5, 16, 15, 10, tzinfo=dt.UTC)
    obs, fcst = parse_timeline(body, "KNYC", "NY", issued)
    assert [o.ts.strftime("%H:%M") for o in obs] == ["15:00", "15:05", "15:10"]  # UTC from epoch
    assert obs[2].temp_c == pytest.approx((76.6 - 32) * 5 / 9, abs=1e-4)
    assert all(o.station == "KNYC" and o.report_type == "vc_obs_minute" for o in obs)
    assert (
        len(fcst) == 1
        and fcst[0].temp_f == 78.4
        and fcst[0].lead_hours == pytest.approx(3.8333, abs=1e-3)
    )


def test_visual_crossing_errors(monkeypatch) -> None:
    monkeypatch.delenv("VISUAL_CROSSING_API_KEY", raising=False)
    monkeypatch.delenv("VC_API_KEY", raising=False)
    with pytest.raises(WeatherAPIError, match="no API key"):
        VisualCrossingClient()
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        if len(calls) == 1:
            return httpx.Response(429, text="Maximum concurrent jobs has been exceeded")
        return httpx.Response(401, text="This account does not have access to sub-hourly data")

    vc = VisualCrossingClient("k", transport=httpx.MockTransport(handler), sleep=lambda s: None)
    with pytest.raises(WeatherAPIError) as err:
        vc.timeline("KNYC", "today")
    assert err.value.status == 401 and "sub-hourly" in str(err.value) and len(calls) == 2


def test_nws_observations_prefer_t_group_and_drop_bad_qc() -> None:
    metar = copy.deepcopy(NWS_FEATURE)
    metar["properties"].update(timestamp="2026-05-16T14:51:00+00:00",
                               rawMessage="KNYC 161451Z 21006KT 10SM FEW055 24/14 A3001 RMK AO2 SLP163 T02440139")  # fmt: skip
    bad = copy.deepcopy(NWS_FEATURE)
    bad["properties"].update(timestamp="2026-05-16T14:52:00+00:00")
    bad["properties"]["temperature"] = {
        "unitCode": "unit:degC",
        "value": 40,
        "qualityControl": "qc:X",
    }
    missing = copy.deepcopy(NWS_FEATURE)
    missing["properties"].update(timestamp="2026-05-16T14:57:00+00:00")
    missing["properties"]["temperature"] = {
        "unitCode": "wmoUnit:degC",
        "value": None,
        "qualityControl": "Z",
    }
    body = {"type": "FeatureCollection", "features": [missing, bad, metar, NWS_FEATURE]}
    seen = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=body, headers={"content-type": "application/geo+json"})

    nws = NWSClient("(kbayes-test, test@example.com)", transport=httpx.MockTransport(handler))
    obs = nws.observations(
        "KNYC",
        dt.datetime(2026, 5, 16, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 17, 5, tzinfo=dt.UTC),
    )
    assert seen[0].headers["User-Agent"].startswith("(kbayes-test")
    assert seen[0].url.params["start"] == "2026-05-16T05:00:00Z"
    assert [(o.ts.minute, o.temp_c, o.temp_source, o.report_type) for o in obs] == [
        (47, 24.0, "whole", "5min"),
        (51, 24.4, "tenths", "metar"),
        (57, None, None, "5min"),
    ]
    assert nws.rejected == 1  # qc X dropped; a null value is kept as missing, never 0


def test_iem_asos_csv() -> None:
    seen = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, text=IEM_CSV)

    iem = IEMClient(transport=httpx.MockTransport(handler))
    obs = iem.asos(
        "KNYC",
        dt.datetime(2026, 5, 16, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 17, 5, tzinfo=dt.UTC),
    )
    q = parse_qs(seen[0].url.query.decode())
    assert q["station"] == ["NYC"] and q["report_type"] == ["3", "4"] and q["tz"] == ["Etc/UTC"]
    assert [(o.ts.hour, o.temp_c, o.temp_source) for o in obs] == [
        (14, 24.4, "tenths"),
        (15, 25.0, "whole"),
        (16, None, None),
    ]


def _obs(minute: int, temp_c: float, hour: int = 15) -> object:
    from kbayes.market.records import WeatherObsRecord

    ts = dt.datetime(2026, 5, 16, hour, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    return WeatherObsRecord("KNYC", ts, temp_c, "whole", None, "5min", "nws_api", "nws_api")


def test_poller_dedups_running_high_and_gaps() -> None:
    """Five-minute polls over a served NWS feed that grows, repeats itself and skips a while."""
    batches = [
        [_obs(0, 24.0), _obs(5, 25.0)],
        [_obs(0, 24.0), _obs(5, 25.0), _obs(10, 24.5)],  # two repeats, one new
        [_obs(10, 24.5), _obs(45, 23.0)],  # 35 minutes missing
    ]
    fcst_body = {"queryCost": 1, "days": [{"datetime": "2026-05-16", "hours": [
        {"datetime": "18:00:00", "datetimeEpoch": 1778968800, "temp": 80.0, "source": "fcst"}]}]}  # fmt: skip
    state = {"i": 0}

    def nws_source(start: dt.datetime, end: dt.datetime):
        i = min(state["i"], len(batches) - 1)
        return batches[i], []

    def vc_source(start: dt.datetime, end: dt.datetime):
        return parse_timeline(fcst_body, "KNYC", "NY", dt.datetime(2026, 5, 16, 15, tzinfo=dt.UTC))

    poller = WeatherPoller(city_of("NY"), {"nws": nws_source, "vc": vc_source})
    times = [
        dt.datetime(2026, 5, 16, 15, 6, tzinfo=dt.UTC) + dt.timedelta(minutes=5 * k)
        for k in (0, 1, 8)
    ]
    out = []
    for k, now in enumerate(times):
        state["i"] = k
        out.append(poller.poll(now))
    obs_events = [e for batch in out for e in batch if isinstance(e, ObsEvent)]
    assert [e.record.ts.minute for e in obs_events] == [0, 5, 10, 45]  # each exactly once
    assert [round(e.running_high_f, 2) for e in obs_events] == [75.2, 77.0, 77.0, 77.0]
    assert sum(isinstance(e, ForecastEvent) for batch in out for e in batch) == 1
    gaps = [e for batch in out for e in batch if isinstance(e, GapEvent) and e.source == "nws"]
    assert [(g.start.minute, g.end.minute, g.reason) for g in gaps] == [
        (10, 45, "observations missing")
    ]
    assert all(e.climate_date == dt.date(2026, 5, 16) for e in obs_events)
    # The vc source never observes: it is reported silent once, not on every poll.
    vc_gaps = [e for batch in out for e in batch if isinstance(e, GapEvent) and e.source == "vc"]
    assert len(vc_gaps) == 1
    # A new climate day (05:00Z for New York) restarts the high.
    state["i"] = 2
    nxt = poller.poll(dt.datetime(2026, 5, 17, 5, 1, tzinfo=dt.UTC))
    assert poller.climate_date == dt.date(2026, 5, 17) and poller.running_high_f is None
    assert not [e for e in nxt if isinstance(e, ObsEvent)]
    json.dumps([str(e) for e in nxt])
