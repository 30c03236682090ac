"""Stratified permuted-block randomization lists, concealed by per-assignment hashes."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from regmed.design._base import DesignResult
from regmed.design._checks import Checker
from regmed.results import format_table

__all__ = ["RandomizationResult", "randomization_list", "seal", "verify_assignment"]


def seal(sequence: int, stratum: str, arm: str, salt: str) -> str:
    """SHA-256 commitment to one assignment: hex digest of ``sequence|stratum|arm|salt``."""
    text = f"{int(sequence)}|{stratum}|{arm}|{salt}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_assignment(*, sequence: int, stratum: str, arm: str, salt: str, digest: str) -> bool:
    """Whether a revealed assignment (arm and salt) matches its sealed digest."""
    return seal(sequence, stratum, arm, salt) == digest


@dataclasses.dataclass(frozen=True)
class RandomizationResult(DesignResult):
    """A randomization list.

    Attributes
    ----------
    assignments : pandas.DataFrame
        One row per assignment: ``sequence`` (1-based within stratum), ``stratum``,
        ``block`` (1-based within stratum), ``block_size``, ``arm`` and ``salt`` (the secret
        that opens the sealed digest). Whole blocks are kept, so a stratum may hold a few
        more assignments than requested.
    seed : int or None
        The integer seed that reproduces the list (None when a Generator was passed).
    """

    assignments: pd.DataFrame
    seed: int | None

    def sealed(self) -> pd.DataFrame:
        """The concealed form: ``sequence``, ``stratum`` and the SHA-256 ``digest`` of each
        assignment; the arm is revealed only at assignment with its salt
        (see :func:`verify_assignment`)."""
        a = self.assignments
        digests = [
            seal(s, st, arm, salt)
            for s, st, arm, salt in zip(a["sequence"], a["stratum"], a["arm"], a["salt"],
                                        strict=True)
        ]
        return pd.DataFrame(
            {"sequence": a["sequence"], "stratum": a["stratum"], "digest": digests}
        )

    def counts(self) -> pd.DataFrame:
        """Number of assignments per stratum and arm."""
        return (
            self.assignments.groupby(["stratum", "arm"], sort=False).size()
            .rename("n").reset_index()
        )

    def table(self) -> pd.DataFrame:
        return self.counts()

    def summary(self) -> str:
        head = (
            f"RandomizationResult: {len(self.assignments)} assignments, ratio "
            f"{self.options['ratio']}, block sizes {self.options['block_sizes']}, "
            f"seed {self.seed}"
        )
        return head + "\n" + format_table(self.counts())


def randomization_list(
    n: int,
    *,
    ratio: Sequence[int] = (1, 1),
    block_sizes: Sequence[int] = (4, 6),
    strata: Sequence[str] | Mapping[str, int] | None = None,
    arms: Sequence[str] | None = None,
    rng: np.random.Generator | int | None = None,
) -> RandomizationResult:
    """Stratified permuted-block randomization with randomly chosen block sizes.

    Within each stratum, blocks are drawn one after another: a block size is chosen at
    random (equal probabilities) from ``block_sizes``, and the block holds each arm
    ``size * ratio[i] / sum(ratio)`` times in a random order. Blocks are added until the
    stratum has at least ``n`` assignments. The same seed gives the same list.

    Parameters
    ----------
    n : int
        Assignments needed per stratum (a mapping ``strata`` gives its own counts).
    ratio : sequence of int
        Allocation ratio of the arms, e.g. ``(1, 2)`` for one treated per two controls.
    block_sizes : sequence of int
        Allowed block sizes; each must be a multiple of ``sum(ratio)``.
    strata : sequence of str or mapping str -> int, optional
        Stratum labels (each gets ``n``), or labels with their own counts.
    arms : sequence of str, optional
        Arm names; default ``("treated", "control")`` for two arms, else ``arm1, arm2...``.
    rng : numpy.random.Generator or int, optional
        Random generator or seed; ``None`` draws a fresh seed (recorded on the result).

    Returns
    -------
    RandomizationResult

    References
    ----------
    Rosenberger WF, Lachin JM (2016). Randomization in Clinical Trials, 2nd ed., Wiley,
    ch. 3 (permuted blocks, random block sizes). ICH E9 (1998), section 2.3.3.

    Examples
    --------
    >>> r = randomization_list(8, ratio=(1, 1), block_sizes=(4,), rng=1)
    >>> sorted(r.counts()["n"].tolist())
    [4, 4]
    """
    check = Checker("randomization_list")
    ratio_ok = False
    try:
        ratio_i = [int(x) for x in ratio]
        if len(ratio_i) < 2 or any(x < 1 for x in ratio_i) or any(
            float(x) != int(x) for x in ratio
        ):
            check.add("ratio", "must be two or more positive whole numbers")
        else:
            ratio_ok = True
    except (TypeError, ValueError):
        ratio_i = []
        check.add("ratio", "must be a sequence of positive whole numbers")
    try:
        sizes = [int(x) for x in block_sizes]
        if not sizes or any(x < 1 for x in sizes):
            check.add("block_sizes", "must be positive whole numbers")
        elif ratio_ok and any(x % sum(ratio_i) for x in sizes):
            check.add("block_sizes", f"each block size must be a multiple of {sum(ratio_i)} "
                                     "(the sum of the ratio)")
    except (TypeError, ValueError):
        sizes = []
        check.add("block_sizes", "must be a sequence of positive whole numbers")
    if isinstance(strata, Mapping):
        wanted = {str(k): v for k, v in strata.items()}
        for k, v in wanted.items():
            check.number(f"strata[{k}]", v, low=1, integer=True)
    else:
        check.number("n", n, low=1, integer=True)
        labels = ["all"] if strata is None else [str(s) for s in strata]
        if len(set(labels)) != len(labels) or not labels:
            check.add("strata", "stratum labels must be distinct and not empty")
        wanted = {s: n for s in labels}
    if arms is None:
        arm_names = ["treated", "control"] if len(ratio_i) == 2 else [
            f"arm{i + 1}" for i in range(len(ratio_i))
        ]
    else:
        arm_names = [str(a) for a in arms]
        if len(arm_names) != len(ratio_i) or len(set(arm_names)) != len(arm_names):
            check.add("arms", "must name each arm of the ratio once")
    if rng is not None and not isinstance(rng, (np.random.Generator, int, np.integer)):
        check.add("rng", "must be a numpy Generator, an integer seed or None")
    check.raise_if_any()

    seed: int | None
    if isinstance(rng, np.random.Generator):
        gen, seed = rng, None
    else:
        seed = int(np.random.default_rng().integers(2**62)) if rng is None else int(rng)
        gen = np.random.default_rng(seed)
    unit = np.repeat(np.arange(len(ratio_i)), ratio_i)
    rows = []
    for stratum, count in wanted.items():
        seq = block = 0
        while seq < int(count):
            size = int(gen.choice(sizes))
            block += 1
            content = gen.permutation(np.tile(unit, size // len(unit)))
            for arm_index in content:
                seq += 1
                salt = gen.bytes(16).hex()
                rows.append((seq, stratum, block, size, arm_names[int(arm_index)], salt))
    frame = pd.DataFrame(
        rows, columns=["sequence", "stratum", "block", "block_size", "arm", "salt"]
    )
    options = dict(
        n=n, ratio=ratio_i, block_sizes=sizes,
        strata=None if strata is None else (dict(wanted) if isinstance(strata, Mapping)
                                            else list(wanted)),
        arms=arm_names, rng=seed if seed is not None else "Generator",
    )
    return RandomizationResult(options=options, assignments=frame, seed=seed)
