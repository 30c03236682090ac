"""regmed.evidence.fit_glm is public; separation is a ConvergenceError, not a LinAlgError."""

from __future__ import annotations

import numpy as np
import pytest

from regmed.errors import ConvergenceError
from regmed.evidence import fit_glm


def test_linear_fit_matches_least_squares() -> None:
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(50), rng.normal(size=50)])
    y = 1.0 + 2.0 * x[:, 1] + rng.normal(size=50)
    fit = fit_glm(x, y, np.ones(50), "gaussian", None)
    np.testing.assert_allclose(fit.coef, np.linalg.lstsq(x, y, rcond=None)[0], rtol=1e-10)


def test_complete_separation_raises_convergence_error() -> None:
    x = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 1, 0, 1, 0]])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=float)
    with pytest.raises(ConvergenceError):
        fit_glm(x, y, np.ones(8), "binomial_logit", None)
