"""The per-subscription seq check: first, ok, gap, duplicate, out of order; sids independent."""

from __future__ import annotations

from kbayes.io.kalshi.seq import SeqStatus, SeqTracker


def test_seq_tracker_statuses() -> None:
    t = SeqTracker()
    assert t.observe(1, 1).status is SeqStatus.FIRST
    assert t.observe(1, 2).status is SeqStatus.OK
    gap = t.observe(1, 5)
    assert (gap.status, gap.expected, gap.missing, gap.in_sync) == (SeqStatus.GAP, 3, 2, False)
    assert t.observe(1, 6).status is SeqStatus.OK  # re-anchored at 5
    assert t.observe(1, 6).status is SeqStatus.DUPLICATE
    assert t.observe(1, 3).status is SeqStatus.OUT_OF_ORDER  # a skipped one arriving late
    assert t.observe(1, 3).status is SeqStatus.DUPLICATE  # ... and again
    assert t.observe(1, 4).status is SeqStatus.OUT_OF_ORDER
    assert t.observe(1, 2).status is SeqStatus.DUPLICATE
    assert t.observe(2, 10).status is SeqStatus.FIRST  # sids are independent
    assert t.observe(2, 9).status is SeqStatus.OUT_OF_ORDER  # before the anchor
    assert t.gaps == 1 and t.missing_total == 2 and t.last_seq(1) == 6
    assert t.counts[SeqStatus.DUPLICATE] == 3 and t.counts[SeqStatus.OUT_OF_ORDER] == 3
    t.reset(1)
    assert t.last_seq(1) is None and t.observe(1, 1).status is SeqStatus.FIRST
    t.reset()
    assert t.last_seq(2) is None
