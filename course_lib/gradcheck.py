"""Numerical gradients and relative error: how to check any analytic gradient (cs231n habit)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike


def numerical_gradient(f: Callable[[np.ndarray], ArrayLike], x: ArrayLike,
                       eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``Σ f(x)``: ``(F(x + eps·e_i) - F(x - eps·e_i)) / 2eps``.

    Computed in float64 whatever ``x`` is (a float32 difference quotient is mostly rounding);
    ``f`` may return an array, which is summed, matching the ``*_grad`` functions' convention.
    """
    x = np.array(x, dtype=np.float64)
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"`eps` must be a positive finite step; got {eps}.")
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = float(np.sum(f(x)))
        flat[i] = old - eps
        down = float(np.sum(f(x)))
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def relative_error(a: ArrayLike, b: ArrayLike) -> float:
    """``max |a - b| / max(|a| + |b|, 1e-12)`` elementwise: ~1e-7 or less means the two agree."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"`a` shape {a.shape} must equal `b` shape {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
