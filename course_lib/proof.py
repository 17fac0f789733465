"""One-line proofs for lessons: compare, print what was compared, raise when the claim is false.

A lesson states a fact, then a cell proves it. ``agree`` and ``holds`` make that proof one
readable line of output instead of a block of ``assert`` statements:

    >>> agree("nn.softmax vs tf.nn.softmax", ours, theirs)
    nn.softmax vs tf.nn.softmax: max |Δ| 3e-08 ✓
    >>> holds("the naive softmax is NaN", np.isnan(naive).all())
    ✓ the naive softmax is NaN

Both raise ``AssertionError`` naming the claim when it does not hold, so nbval (and a reader
who re-runs the cell) sees the failure where it happens. Arguments may be NumPy arrays, lists,
Python numbers or eager TF tensors (anything ``np.asarray`` takes).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

FLOAT32 = {"rtol": 1e-6, "atol": 1e-6}   # float32 agreement of two stable formulas
FLOAT64 = {"rtol": 1e-12, "atol": 1e-12}


def _max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b|`` over the entries where both are finite (0.0 when there are none)."""
    both = np.isfinite(a) & np.isfinite(b)
    if not both.any():
        return 0.0
    return float(np.max(np.abs(a[both].astype(np.float64) - b[both].astype(np.float64))))


def agree(what: str, actual: ArrayLike, expected: ArrayLike, *, rtol: float = 1e-6,
          atol: float = 1e-6) -> None:
    """Check ``|actual - expected| <= atol + rtol·|expected|`` entrywise; print one line.

    The line is ``"{what}: max |Δ| 3e-08 ✓"`` (``identical`` when the arrays are equal; NaN and
    inf must sit at the same places with the same sign). Returns nothing, so a cell that ends
    with it shows only the line. Raises ``AssertionError`` naming ``what``, with NumPy's
    report, when a value, a shape or the position of a NaN/inf differs. Shapes must match
    exactly: no broadcasting.
    """
    a, b = np.asarray(actual), np.asarray(expected)
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shapes differ, {a.shape} vs {b.shape}")
    try:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError as error:
        raise AssertionError(f"{what}: do not agree (rtol={rtol:g}, atol={atol:g}){error}") \
            from None
    diff = _max_abs_difference(a, b)
    shown = "identical" if np.array_equal(a, b, equal_nan=a.dtype.kind in "fc") else \
        f"max |Δ| {diff:.0e}"
    print(f"{what}: {shown} ✓")


def holds(statement: str, condition: object) -> None:
    """Print ``"✓ {statement}"`` if ``condition`` is true; raise ``AssertionError`` if not.

    ``condition`` may be a bool, a NumPy bool or a one-element array (``np.all(...)``).
    """
    if not bool(np.asarray(condition).all()):
        raise AssertionError(f"does not hold: {statement}")
    print(f"✓ {statement}")
