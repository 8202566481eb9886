"""PIT values (randomised for discrete forecasts) and the PNG writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kstest

from kbayes.scoring import (
    ScoreInputError,
    pit_histogram,
    pit_normal,
    pit_pmf,
    pit_samples,
    reliability_bins,
    write_pit_png,
    write_reliability_png,
)


def test_pit_normal_uniform_when_calibrated_u_shaped_when_too_narrow() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(60.0, 3.0, 5000)
    assert kstest(pit_normal(60.0, 3.0, y), "uniform").pvalue > 0.01
    counts, edges = pit_histogram(pit_normal(60.0, 1.5, y), n_bins=10)
    assert len(edges) == 11 and counts.sum() == 5000
    assert counts[0] > 2 * counts[5] and counts[-1] > 2 * counts[5]


def test_randomised_pit_of_discrete_forecasts_is_uniform_when_calibrated() -> None:
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.full(5, 0.7), size=6000)  # coarse, lumpy PMFs
    y = np.array([rng.choice(5, p=p) for p in P])
    u = pit_pmf(P, y, rng=2)
    assert kstest(u, "uniform").pvalue > 0.01
    np.testing.assert_array_equal(u, pit_pmf(P, y, rng=2))  # reproducible with a seed
    # Bounds: u lies in [F(y-1), F(y)].
    cdf = np.cumsum(P, axis=1)
    rows = np.arange(len(y))
    assert np.all(u >= cdf[rows, y] - P[rows, y] - 1e-12) and np.all(u <= cdf[rows, y] + 1e-12)
    # Ragged ladders give the same values row for row.
    assert np.array_equal(pit_pmf(list(P[:10]), y[:10], rng=3), pit_pmf(P[:10], y[:10], rng=3))


def test_pit_samples_with_ties_is_randomised_between_the_cdf_jumps() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(50, 60, size=(4000, 30)).astype(float)  # integer ensembles: many ties
    y = rng.integers(50, 60, size=4000).astype(float)
    u = pit_samples(x, y, rng=5)
    below = (x < y[:, None]).sum(axis=1) / 31
    at_most = ((x <= y[:, None]).sum(axis=1) + 1) / 31
    assert np.all((u >= below) & (u <= at_most))
    assert kstest(u, "uniform").pvalue > 0.01  # y is drawn like the members


def test_pit_bad_input() -> None:
    with pytest.raises(ScoreInputError, match=r"u\[1\] = 1.5 is outside"):
        pit_histogram(np.array([0.2, 1.5]))
    with pytest.raises(ScoreInputError, match=r"y\[0\] = nan is not finite"):
        pit_samples(np.ones((1, 3)), np.array([np.nan]))


def test_png_writers(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    out = write_reliability_png(
        tmp_path / "sub" / "rel.png",
        {"width": reliability_bins(p, y), "mass": reliability_bins(p, y, binning="mass")},
        title="test",
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = write_pit_png(tmp_path / "pit.png", pit_normal(0.0, 1.0, rng.normal(size=300)))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
