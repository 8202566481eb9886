"""Every user mistake of issue 12 ends in one line naming the option, file, field or value,
with the exit code of its error type (kbayes.cli.errors), never a traceback.

Each case runs ``kbayes.cli.main`` in-process, as the ``kbayes`` script does: a traceback
would be an exception escaping ``main``, so a returned code is the "no traceback" check.
The WebSocket and REST cases are in ``test_cli_network_errors.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import lzma
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from kbayes.cli import main
from kbayes.cli.errors import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_NO,
    EXIT_STORE,
    EXIT_USAGE,
)
from kbayes.io.store import DuckDBStore
from kbayes.io.tape import TapeWriter
from tests.experiment.test_baselines_kind import _config
from tests.experiment.test_baselines_kind import fixture_store as fixture_store
from tests.io.importers.kalshi_util import ny_ladder, write_tar, write_text


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("kbayes ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def kalshi_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY_PATH"):
        monkeypatch.delenv(var, raising=False)


# --- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("yesterday", "is not an ISO UTC time"),
        ("2026-13-01T00:00:00Z", "month must be in 1..12"),
        ("1786085300", "looks like a Unix epoch"),
    ],
)
def test_book_at_that_is_not_a_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, why: str
) -> None:
    code, out, err = _run(capsys, "book", "--tape", tmp_path, "--ticker", "T", "--at", value)
    line = _one_error_line(err)
    assert code == EXIT_USAGE and out == ""
    assert "--at" in line and repr(value) in line and why in line


def test_fetch_since_that_is_not_a_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "fetch", "trades", "--tickers", "T", "--since", "2026-02-30",
                        "--store", tmp_path / "s.duckdb")  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_USAGE and "--since" in line and "2026-02-30" in line
    assert not (tmp_path / "s.duckdb").exists()  # checked before anything is opened


def test_fetch_since_after_until(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "fetch", "trades", "--tickers", "T", "--since", "2026-05-02",
                        "--until", "2026-05-01", "--store", tmp_path / "s.duckdb")  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_USAGE and "later than --until" in line and "fetched" not in err


def test_debug_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["--debug", "book", "--tape", tmp_path, "--ticker", "T", "--at", "yesterday"],
        ["book", "--tape", tmp_path, "--ticker", "T", "--at", "yesterday", "--debug"],
    ):
        code, _, err = _run(capsys, *argv)
        assert code == EXIT_USAGE
        assert "Traceback" in err and "UsageError" in err and "'yesterday'" in err


# --- record: keys, URL, tape, duration (nothing is contacted) ------------------------------------


def test_record_key_file_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kalshi_env: None
) -> None:
    key = tmp_path / "nope.pem"
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                        "--key-id", "kid", "--key-path", key)  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_AUTH and str(key) in line and "No such file" in line


def test_record_key_file_not_pem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kalshi_env: None
) -> None:
    key = tmp_path / "key.txt"
    key.write_text("not a key\n")
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                        "--key-id", "kid", "--key-path", key)  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_AUTH and str(key) in line and "not a PEM file" in line


def test_record_key_pem_that_is_not_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kalshi_env: None
) -> None:
    key = tmp_path / "broken.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                        "--key-id", "kid", "--key-path", key)  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_AUTH and str(key) in line and "cannot load" in line


def test_record_key_id_without_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kalshi_env: None
) -> None:
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                        "--key-id", "kid")  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_AUTH and "--key-path" in line and "KALSHI_PRIVATE_KEY_PATH" in line


def test_record_http_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                        "--ws-url", "http://127.0.0.1:9/trade-api/ws/v2")  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_USAGE and "--ws-url" in line and "http://127.0.0.1:9" in line


def test_record_tape_is_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tape = tmp_path / "tape.jsonl"
    tape.write_text("keep me\n")
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tape)
    line = _one_error_line(err)
    assert code == EXIT_USAGE and "--tape" in line and str(tape) in line and "is a file" in line
    assert tape.read_text() == "keep me\n"


@pytest.mark.parametrize("duration", ["-5", "0"])
def test_record_duration_not_positive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    code, _, err = _run(capsys, "record", "--tickers", "T", "--tape", tmp_path / "tape",
                        "--duration", duration)  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_USAGE and f"--duration: {duration}" in line
    assert not (tmp_path / "tape").exists()


# --- stores ---------------------------------------------------------------------------------------


def test_export_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "sub" / "none.duckdb"
    code, _, err = _run(capsys, "data", "export", "--store", store, "--to", tmp_path / "pq")
    line = _one_error_line(err)
    assert code == EXIT_STORE and str(store) in line and "does not exist" in line
    assert not (tmp_path / "sub").exists() and not (tmp_path / "pq").exists()


def test_export_to_an_existing_file(
    fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "out.parquet"
    to.write_bytes(b"x")
    code, _, err = _run(capsys, "data", "export", "--store", fixture_store, "--to", to)
    line = _one_error_line(err)
    assert code == EXIT_USAGE and "--to" in line and str(to) in line and "is a file" in line


def test_import_into_a_file_that_is_not_duckdb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "notes.duckdb"
    store.write_text("hello\n")
    (tmp_path / "data").mkdir()
    code, _, err = _run(capsys, "data", "import", "--from", tmp_path / "data", "--store", store)
    line = _one_error_line(err)
    assert code == EXIT_STORE and str(store) in line and "not a DuckDB database" in line
    assert store.read_text() == "hello\n"


def test_run_store_that_is_not_duckdb(
    fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_config(fixture_store, tmp_path / "out")))
    store = tmp_path / "notes.duckdb"
    store.write_text("hello\n")
    code, _, err = _run(capsys, "run", cfg, "--store", store)
    line = _one_error_line(err)
    assert code == EXIT_STORE and str(store) in line and "not a DuckDB database" in line


@pytest.fixture
def locked_store(tmp_path: Path):
    """A store another process holds open for writing."""
    path = tmp_path / "busy.duckdb"
    DuckDBStore(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        yield path
    finally:
        holder.kill()
        holder.wait(10)


def test_store_in_use_is_worded_for_the_command(
    locked_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # data summary already opens read-only: it is not told to open read-only.
    code, _, err = _run(capsys, "data", "summary", "--store", locked_store)
    line = _one_error_line(err)
    assert code == EXIT_STORE and str(locked_store) in line
    assert "being written by another process" in line and "read-only" not in line
    # data import writes: it is told to wait or use another store.
    (tmp_path / "data").mkdir()
    code, _, err = _run(capsys, "data", "import", "--from", tmp_path / "data",
                        "--store", locked_store)  # fmt: skip
    line = _one_error_line(err)
    assert code == EXIT_STORE and "in use by another process" in line
    assert "give another --store" in line and "read-only" not in line


# --- configs ------------------------------------------------------------------------------------

SIM_CONFIG = """\
name: sim
kind: baselines
data:
  source: sim
  sim: {start: 2024-01-01, n_days: 3, cities: [NY]}
split: {train_end: 2024-01-02}
decision_times: ["08:00"]
"""


def _config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("train_end: 2024-01-02", "train_end: 2024-02-30", ["line 6", "'2024-02-30'", "date"]),
        ("cities: [NY]", "cities: [XYZ]", ["data.sim.cities", "XYZ"]),
        ("n_days: 3", "n_days: -5", ["data.sim.n_days", "-5", "positive"]),
        ("n_days: 3", "n_dayz: 3", ["data.sim", "n_dayz", "unknown"]),
        ('["08:00"]', "[08:00, 14:00]", ["line 7", "840", "base-60", 'quote it: "14:00"']),
        ("name: sim\n", "name: sim\nname: other\n", ["line 2", "duplicate key 'name'", "line 1"]),
    ],
)
def test_config_mistake_names_file_line_and_value_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expect: list[str]
) -> None:
    assert old in SIM_CONFIG
    cfg = _config_file(tmp_path, SIM_CONFIG.replace(old, new))
    out = tmp_path / "out"
    code, _, err = _run(capsys, "run", cfg, "--out", out)
    line = _one_error_line(err)
    assert code == EXIT_CONFIG and str(cfg) in line, line
    for text in expect:
        assert text in line, (text, line)
    assert not out.exists()


def test_config_unknown_provider_is_an_error_not_a_note(
    fixture_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _config(fixture_store, tmp_path / "out")
    raw["params"]["forecast_normal"]["provider"] = "visualcrosing"
    cfg = _config_file(tmp_path, yaml.safe_dump(raw))
    code, _, err = _run(capsys, "run", cfg)
    line = _one_error_line(err)
    assert code == EXIT_CONFIG
    assert "'visualcrosing'" in line and "['visualcrossing']" in line


# --- import: keep every good row and every complete member -------------------------------------

BBO = "kalshi/jetpackjules_nyc_bbo/market_data_KXHIGHNY-25DEC14.csv.xz"
EVENTS = "kalshi/cpratim_trades_5city/events_5city.tar.xz"


def _event_doc(day: str) -> dict:
    # incompressible padding, so the bytes a cut keeps map to a share of the members
    noise = random.Random(day).randbytes(8000).hex()
    return {
        "event": {"event_ticker": f"KXHIGHNY-{day}", "series_ticker": "KXHIGHNY", "pad": noise},
        "markets": ny_ladder(day),
    }


def test_import_keeps_good_rows_and_complete_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    header = "timestamp,market_ticker,best_yes_bid,best_no_bid,implied_no_ask,implied_yes_ask\n"
    rows = [f"2025-12-13T07:35:{s:02d}.000000,KXHIGHNY-25DEC14-B38.5,5,63,95,37" for s in range(6)]
    rows[2] += ",EXTRA"  # file line 4: one field too many
    write_text(root / BBO, header + "\n".join(rows) + "\n", xz=True)

    days = [f"24NOV{d:02d}" for d in range(1, 9)]
    docs = {f"kxhighny/events/2024-11-{d[-2:]}.json": _event_doc(d) for d in days}
    full = write_tar(tmp_path / "full.tar.xz", docs)
    data = full.read_bytes()
    cut = data[: int(len(data) * 0.6)]  # an interrupted download
    (root / EVENTS).parent.mkdir(parents=True, exist_ok=True)
    (root / EVENTS).write_bytes(cut)
    # Oracle: the members whose data lies wholly within the bytes the cut file still holds.
    available = len(lzma.LZMADecompressor().decompress(cut))
    with tarfile.open(full, "r:xz") as tar:
        complete = {
            "KXHIGHNY-" + _day_of(m.name)
            for m in tar.getmembers()
            if m.offset_data + m.size <= available
        }
    assert 0 < len(complete) < len(days)

    store = tmp_path / "kb.duckdb"
    code, _, err = _run(capsys, "data", "import", "--from", root, "--store", store, "--strict")
    assert code == 0, err
    with DuckDBStore(store, read_only=True) as s:
        book = s.read("book_top")
        events = s.read("events")
        issues = s.read("import_issues")
    assert len(book) == 5  # every good line of the BBO log
    bbo = issues[issues["source_file"] == BBO]
    assert list(bbo["record"]) == ["line 4"]
    assert "expected 6 fields, saw 7" in bbo["message"].iloc[0]
    assert set(events["event_ticker"]) == complete
    cut_issue = issues[(issues["source_file"] == EVENTS) & (issues["field"] == "archive")]
    assert len(cut_issue) == 1 and "truncated" in cut_issue["message"].iloc[0]
    assert cut_issue["record"].iloc[0].startswith("after member kxhighny/events/")


def _day_of(member: str) -> str:
    day = dt.date.fromisoformat(Path(member).stem)
    return f"{day:%y}{day:%b}{day:%d}".upper()


# --- book: say why nothing was found ------------------------------------------------------------

T0 = dt.datetime(2026, 8, 7, 6, 0, tzinfo=dt.UTC)


def _ns(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000_000


def _tape(folder: Path) -> Path:
    book = {"yes_dollars_fp": [["0.4000", "10.00"]], "no_dollars_fp": [["0.5000", "5.00"]]}
    snap = {"type": "orderbook_snapshot", "sid": 1, "seq": 1,
            "msg": {"market_ticker": "KXHIGHNY-26AUG07-B80.5", **book}}  # fmt: skip
    trade = {"type": "trade", "sid": 2, "seq": 1, "msg": {"market_ticker": "KXHIGHNY-26AUG07-T85"}}
    with TapeWriter(folder) as tape:
        tape.write([{"t": _ns(T0), "d": "in", "raw": json.dumps(snap)}])
        tape.write([{"t": _ns(T0) + 60 * 10**9, "d": "in", "raw": json.dumps(trade)}])
    return folder


@pytest.mark.parametrize(
    ("ticker", "at", "why"),
    [
        ("KXHIGHNY-26AUG07-B80.5", T0 - dt.timedelta(hours=1), "is before the tape starts"),
        ("KXHIGHNY-26AUG07-B99.5", T0 + dt.timedelta(hours=1), "is not on the tape"),
        ("KXHIGHNY-26AUG07-T85", T0 + dt.timedelta(hours=1), "has no order-book snapshot"),
        ("KXHIGHNY-26AUG07-T85", T0 + dt.timedelta(seconds=30), "first appears on the tape at"),
    ],
)
def test_book_not_found_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ticker: str, at: dt.datetime, why: str
) -> None:
    tape = _tape(tmp_path / "tape")
    code, out, err = _run(capsys, "book", "--tape", tape, "--ticker", ticker,
                          "--at", at.isoformat())  # fmt: skip
    assert code == EXIT_NO and json.loads(out)["found"] is False
    assert "not found" in err and why in err and "Traceback" not in err
    # and the book that is there is found
    code, out, _ = _run(capsys, "book", "--tape", tape, "--ticker", "KXHIGHNY-26AUG07-B80.5",
                        "--at", (T0 + dt.timedelta(hours=1)).isoformat())  # fmt: skip
    assert code == 0 and json.loads(out)["found"] is True


def test_book_empty_tape_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tape").mkdir()
    code, out, err = _run(capsys, "book", "--tape", tmp_path / "tape", "--ticker", "T",
                          "--at", T0.isoformat())  # fmt: skip
    assert code == EXIT_NO and json.loads(out)["found"] is False
    assert "holds no tape files" in err
