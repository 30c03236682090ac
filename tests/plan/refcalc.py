"""A stand-in for ``regmed.design.sample_size_rates`` while the design package is not merged.

Normal-approximation two-rate sample size with the pooled variance under H0, the formula of
rpact's getSampleSizeRates (Wassmer & Brannath 2016, ch. 4); ``test_refcalc_matches_rpact``
checks it against the stored rpact output. Only the checklist tests use it, and only when
``regmed.design`` does not provide ``sample_size_rates``.
"""

from __future__ import annotations

import math
from typing import Any

from scipy.stats import norm

from regmed.plan import RequiredSize


def rates_calculator(method: str, a: dict[str, Any]) -> RequiredSize:
    if method != "rates":
        raise LookupError(f"the test stand-in only knows 'rates', not {method!r}")
    r = a.get("allocation_ratio", 1.0)
    p1, p2 = a["p_treated"], a["p_control"]
    z_a = norm.ppf(1 - a["alpha"] / a.get("sided", 1))
    z_b = norm.ppf(a["power"])
    pbar = (r * p1 + p2) / (1 + r)
    root_h0 = math.sqrt(pbar * (1 - pbar) * (1 + r) ** 2 / r)
    root_h1 = math.sqrt(p1 * (1 - p1) * (1 + r) / r + p2 * (1 - p2) * (1 + r))
    n = (z_a * root_h0 + z_b * root_h1) ** 2 / (p1 - p2) ** 2
    return RequiredSize(n_treated=n * r / (1 + r), n_control=n / (1 + r))
