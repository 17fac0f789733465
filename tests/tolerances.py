"""The one place where the tolerances of every course_lib-vs-TensorFlow comparison live.

Justification, measured with TF 2.21 on the course machine: over 200 random comparisons of the four
fused CE ops with a NumPy reference in the same dtype (logit scales 0.1 to 1e4, B <= 500,
C <= 300) the largest errors fitted inside ``rtol=1e-6, atol=1e-6·max(1, max|x|)`` for float32
and ``rtol=1e-13, atol=1e-13·max(1, max|x|)`` for float64. The absolute part grows with the
logit scale because the stability shift ``x - max(x)`` rounds at ulp(max|x|); a loss near 0
computed as ``lse - s_y`` cancels, so a relative tolerance alone cannot hold there.
"""

from __future__ import annotations

import numpy as np

RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-13}
# Sampled softmax / NCE given TF's own draw (facts §7.2: worst seen 1.9e-6 abs / 1.8e-7 rel in
# float32, 3.3e-16 rel in float64; the residual is 1-2 ulp of summation order in the matmuls).
SAMPLED_RTOL = {np.float32: 1e-5, np.float64: 1e-12}
# Sums of many terms (reductions, gradients that add C products) carry a few more ulps.
SLACK = 8


def tolerance(dtype, scale: float = 1.0, slack: float = 1.0) -> dict[str, float]:
    """``rtol``/``atol`` for arrays of ``dtype`` computed from inputs with ``max|x| = scale``."""
    rtol = RTOL[np.dtype(dtype)] * slack
    return {"rtol": rtol, "atol": rtol * max(1.0, float(scale))}


def assert_close(actual, expected, dtype, scale: float = 1.0, slack: float = 1.0) -> None:
    """``np.testing.assert_allclose`` at the tolerance of ``dtype`` and logit scale ``scale``."""
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"shape {actual.shape} != TF's {expected.shape}"
    np.testing.assert_allclose(actual, expected, **tolerance(dtype, scale, slack))
