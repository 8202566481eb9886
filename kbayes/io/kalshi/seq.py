"""The per-subscription ``seq`` check of the Kalshi WebSocket (kalshi-api.md §7.2, §7.5).

Kalshi numbers the messages of each subscription (``sid``) 1, 2, 3, …; a gap, a duplicate or a
late frame means the books fed by that sid may be out of sync. This is wire bookkeeping, not
market state, so it lives with the client (:mod:`kbayes.io.kalshi.stream` uses it).
"""

from __future__ import annotations

import collections
import dataclasses
from enum import StrEnum


class SeqStatus(StrEnum):
    """How one ``seq`` relates to the last one seen on its subscription."""

    FIRST = "first"  # first seq seen on this sid: anchors the sequence
    OK = "ok"  # exactly last + 1
    GAP = "gap"  # jumped ahead: ``missing`` messages were skipped; the sid's books are stale
    DUPLICATE = "duplicate"  # already seen (e.g. a repeated frame); ignore it
    OUT_OF_ORDER = "out_of_order"  # older than the last one and never seen (late or pre-anchor)


@dataclasses.dataclass(frozen=True, slots=True)
class SeqResult:
    """The verdict on one sequenced frame.

    Attributes:
        sid: Subscription id.
        seq: The frame's seq.
        status: See :class:`SeqStatus`.
        expected: The seq that was expected (last + 1), ``None`` for the first one.
        missing: For a gap, how many seqs were skipped; 0 otherwise.
    """

    sid: int
    seq: int
    status: SeqStatus
    expected: int | None
    missing: int = 0

    @property
    def in_sync(self) -> bool:
        """True when the frame continues the sequence (first or last + 1)."""
        return self.status in (SeqStatus.FIRST, SeqStatus.OK)


class SeqTracker:
    """Checks that ``seq`` grows by exactly 1 per subscription id (``sid``).

    Feed it **every** sequenced frame of a sid in arrival order, not just deltas: snapshots
    and ``ok`` acks of ``update_subscription`` consume a seq too (kalshi-samples.md §1.2).
    ``seq`` counts messages per sid across all its markets (§7.5).

    A gap re-anchors at the new seq (so later frames are judged against it) and is counted;
    the caller marks the sid's books stale and resyncs. Skipped seqs are remembered so that a
    late arrival is reported as out of order rather than as a duplicate.

    Attributes:
        last: The highest seq seen per sid. The stream's hot path advances it inline for the
            in-order case (``seq == last + 1``: set it, count ``OK``), exactly as
            :meth:`observe` would, and calls :meth:`observe` for everything else.
        counts: How many frames got each status, over all sids.
        missing_total: Total seqs skipped by gaps.
    """

    MAX_HOLES = 1024  # per sid; older holes are forgotten (late frames then read as duplicates)

    def __init__(self) -> None:
        """Start with no subscriptions."""
        self._first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self._holes: dict[int, collections.deque[tuple[int, int]]] = {}
        self.counts: collections.Counter[SeqStatus] = collections.Counter()
        self.missing_total = 0

    def observe(self, sid: int, seq: int) -> SeqResult:
        """Judge one frame's ``seq`` on subscription ``sid`` and update the state."""
        last = self.last.get(sid)
        if last is None:
            self._first[sid] = self.last[sid] = seq
            self._holes[sid] = collections.deque(maxlen=self.MAX_HOLES)
            result = SeqResult(sid, seq, SeqStatus.FIRST, None)
        elif seq == last + 1:
            self.last[sid] = seq
            result = SeqResult(sid, seq, SeqStatus.OK, last + 1)
        elif seq > last + 1:
            self.last[sid] = seq
            self._holes[sid].append((last + 1, seq - 1))
            self.missing_total += seq - last - 1
            result = SeqResult(sid, seq, SeqStatus.GAP, last + 1, seq - last - 1)
        elif seq < self._first[sid] or self._fill_hole(sid, seq):
            result = SeqResult(sid, seq, SeqStatus.OUT_OF_ORDER, last + 1)
        else:
            result = SeqResult(sid, seq, SeqStatus.DUPLICATE, last + 1)
        self.counts[result.status] += 1
        return result

    def _fill_hole(self, sid: int, seq: int) -> bool:
        holes = self._holes[sid]
        for i, (lo, hi) in enumerate(holes):
            if lo <= seq <= hi:
                del holes[i]
                # Keep whatever is still missing on either side of the late arrival.
                for part in ((lo, seq - 1), (seq + 1, hi)):
                    if part[0] <= part[1]:
                        holes.append(part)
                return True
        return False

    def last_seq(self, sid: int) -> int | None:
        """The highest seq seen on ``sid``, or ``None`` before its first frame."""
        return self.last.get(sid)

    @property
    def gaps(self) -> int:
        """How many gaps were seen (not how many seqs they skipped: see ``missing_total``)."""
        return self.counts[SeqStatus.GAP]

    def reset(self, sid: int | None = None) -> None:
        """Forget one sid (after unsubscribe/resubscribe) or all of them (after a reconnect).

        Counts are kept: they describe the whole session.
        """
        sids = list(self.last) if sid is None else [sid]
        for s in sids:
            self._first.pop(s, None)
            self.last.pop(s, None)
            self._holes.pop(s, None)
