"""Greedy nearest-neighbour matching on a scalar distance, as MatchIt's ``nn_matchC_vec``.

MatchIt walks outward from each treated unit through *all* units sorted by distance,
alternating left and right, skipping units that are not eligible controls; the nearest
eligible control within the caliper wins, and on a tie of distances the one the walk meets
first (the left one when its offset in the sorted order is not larger than the right one's).
Without replacement and with ``ratio > 1`` it matches in rounds (one control per treated
unit per round); after round 1 the walk of a treated unit starts from the outermost of its
earlier matches. A treated unit that finds no control in round 1 is dropped.

Here the same choice is found without walking: the controls of each exact stratum are kept
in sorted order with two "next alive" union-find arrays (left and right), so each search is
a binary search plus an amortised near-constant find, O(n log n) overall instead of the
walk's worst case O(n_t · n_c).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["nearest_neighbour"]


class _Stratum:
    """Controls of one exact stratum in sorted-distance order, with deletion."""

    def __init__(self, pos: np.ndarray, unit: np.ndarray) -> None:
        self.pos = pos  # global sorted positions, ascending
        self.unit = unit  # row index of each control
        m = len(pos)
        self.right = np.arange(m + 1, dtype=np.int64)  # right[k]: next alive >= k (m = none)
        self.left = np.arange(m + 1, dtype=np.int64)  # left[k+1]: prev alive <= k (0 = none)

    @staticmethod
    def _find(parent: np.ndarray, k: int) -> int:
        root = k
        while parent[root] != root:
            root = int(parent[root])
        while parent[k] != root:
            nxt = int(parent[k])
            parent[k] = root
            k = nxt
        return root

    def first_right(self, k: int) -> int:
        """Rank of the first alive control with rank >= k, or -1."""
        r = self._find(self.right, k)
        return r if r < len(self.pos) else -1

    def first_left(self, k: int) -> int:
        """Rank of the last alive control with rank <= k, or -1."""
        if k < 0:
            return -1
        return self._find(self.left, k + 1) - 1

    def kill(self, k: int) -> None:
        self.right[k] = k + 1
        self.left[k + 1] = k


def _adjust_heap(
    a: list[int], hole: int, n: int, value: int, less: Callable[[int, int], bool]
) -> None:
    top = hole
    child = hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if less(a[child], a[child - 1]):
            child -= 1
        a[hole] = a[child]
        hole = child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        a[hole] = a[child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(a[parent], value):
        a[hole] = a[parent]
        hole = parent
        parent = (hole - 1) // 2
    a[hole] = value


def _partial_sort(a: list[int], middle: int, less: Callable[[int, int], bool]) -> None:
    """libstdc++'s ``std::partial_sort`` (heap select + sort heap), ties included."""
    if middle >= 2:
        parent = (middle - 2) // 2
        while True:
            _adjust_heap(a, parent, middle, a[parent], less)
            if parent == 0:
                break
            parent -= 1
    for i in range(middle, len(a)):
        if less(a[i], a[0]):
            value = a[i]
            a[i] = a[0]
            _adjust_heap(a, 0, middle, value, less)
    last = middle
    while last > 1:
        last -= 1
        value = a[last]
        a[last] = a[0]
        _adjust_heap(a, 0, last, value, less)


def _select_like_matchit(
    cands: list[tuple[float, int, int]], ratio: int
) -> list[tuple[float, int, int]]:
    """Replay MatchIt's outward walk over the candidates (dist, step, rank) of both sides.

    The walk meets candidates in step order; a side stops after ``ratio`` finds or when
    ``ratio`` found candidates are strictly closer than the one it meets. The found ones are
    then ordered as ``find_control_vec`` orders them (C++ ``partial_sort``/``sort``).
    """
    found: list[tuple[float, int, int]] = []
    stopped = {0: False, 1: False}
    count = {0: 0, 1: 0}
    for c in sorted(cands, key=lambda c: c[1]):
        side = c[1] % 2  # 1 = left (odd steps), 0 = right
        if stopped[side]:
            continue
        if len(found) >= ratio and sum(f[0] < c[0] for f in found) >= ratio:
            stopped[side] = True
            continue
        found.append(c)
        count[side] += 1
        if count[side] == ratio:
            stopped[side] = True
    n = len(found)
    if n <= 1:
        return found
    dists = [f[0] for f in found]
    if n <= ratio and all(dists[i] <= dists[i + 1] for i in range(n - 1)):
        return found
    idx = list(range(n))

    def less(i: int, j: int) -> bool:
        return dists[i] < dists[j]

    if n > ratio:
        _partial_sort(idx, ratio, less)
        idx = idx[:ratio]
    else:  # std::sort on <= 16 elements is a (stable) insertion sort
        idx.sort(key=lambda i: dists[i])
    return [found[i] for i in idx]


def nearest_neighbour(
    distance: np.ndarray,
    treat: np.ndarray,
    stratum: np.ndarray,
    order: np.ndarray,
    ratio: int,
    caliper: float | None,
    replace: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Match each treated unit to ``ratio`` controls.

    Parameters
    ----------
    distance : float64 array (n,)
    treat : 0/1 array (n,)
    stratum : int array (n,)
        Exact-matching stratum per unit; -1 marks discarded units.
    order : int array
        Positions among the treated units (0-based, in the treated units' data order)
        giving the matching order.
    ratio : int
    caliper : float or None
        Absolute caliper on ``distance``.
    replace : bool

    Returns
    -------
    mm : int array (n_treated, ratio)
        Row indices of matched controls (-1 where none), columns in MatchIt's order.
    no_candidate : bool array (n_treated,)
        True where a treated unit had no control inside the caliper (as opposed to none
        left at all) in its first round.
    """
    n = len(distance)
    sort_idx = np.argsort(distance, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[sort_idx] = np.arange(n)
    treated_units = np.flatnonzero(treat == 1)
    n1 = len(treated_units)
    strata: dict[int, _Stratum] = {}
    control_mask = (treat == 0) & (stratum >= 0)
    sorted_ctrl = sort_idx[control_mask[sort_idx]]
    sorted_ctrl_stratum = stratum[sorted_ctrl]
    for s in np.unique(sorted_ctrl_stratum):
        units = sorted_ctrl[sorted_ctrl_stratum == s]
        strata[int(s)] = _Stratum(rank[units], units)

    mm = np.full((n1, ratio), -1, dtype=np.int64)
    beyond = np.zeros(n1, dtype=bool)
    cal = np.inf if caliper is None else float(caliper)
    d = distance

    def candidates(
        st: _Stratum, di: float, sl: int, sr: int, want: int
    ) -> tuple[list[tuple[float, int, int]], bool]:
        """Up to ``want`` alive controls each side within the caliper: (dist, step, rank).

        The flag tells whether an alive control was seen at all (so that an empty list
        means "all beyond the caliper" rather than "none left").
        """
        out: list[tuple[float, int, int]] = []
        seen = False
        k = int(np.searchsorted(st.pos, sl, side="left")) - 1
        for _j in range(want):
            k = st.first_left(k)
            if k < 0:
                break
            seen = True
            dist = abs(di - d[st.unit[k]])
            if dist > cal:
                break
            out.append((dist, 2 * int(sl - st.pos[k]) - 1, k))
            k -= 1
        k = int(np.searchsorted(st.pos, sr, side="right"))
        for _j in range(want):
            k = st.first_right(k) if k < len(st.pos) else -1
            if k < 0:
                break
            seen = True
            dist = abs(di - d[st.unit[k]])
            if dist > cal:
                break
            out.append((dist, 2 * int(st.pos[k] - sr), k))
            k += 1
        return out, seen

    if replace:
        for ti in order:
            u = treated_units[ti]
            s = int(stratum[u])
            if s < 0 or s not in strata:
                continue
            st = strata[s]
            ii = int(rank[u])
            cands, seen = candidates(st, float(d[u]), ii, ii, ratio)
            if not cands:
                beyond[ti] = seen
                continue
            chosen = _select_like_matchit(cands, ratio)
            for j, c in enumerate(chosen):
                mm[ti, j] = st.unit[c[2]]
        return mm, beyond

    eligible = np.ones(n1, dtype=bool)
    for ti in range(n1):
        s = int(stratum[treated_units[ti]])
        if s < 0 or s not in strata:
            eligible[ti] = False
    for r in range(ratio):
        for ti in order:
            if not eligible[ti]:
                continue
            u = treated_units[ti]
            st = strata[int(stratum[u])]
            ii = int(rank[u])
            if r == 0:
                sl = sr = ii
            else:
                prev = [int(rank[c]) for c in mm[ti, :r] if c >= 0]
                sl = min(prev + [ii])
                sr = max(prev + [ii])
            cands, seen = candidates(st, float(d[u]), sl, sr, 1)
            if not cands:
                if r == 0:
                    eligible[ti] = False
                    beyond[ti] = seen
                continue
            best = _select_like_matchit(cands, 1)[0]
            mm[ti, r] = st.unit[best[2]]
            st.kill(best[2])
    return mm, beyond
