"""course_lib.losses against tf.compat.v1.losses: weights, the five reductions, smoothing, errors.

TF's compat.v1 losses compute the weighting and reduction in float32 even for float64 input,
so every cross-check uses the float32 tolerance; course_lib's float64 accuracy is checked
against independent float64 formulas instead.
"""

from __future__ import annotations

import inspect
import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tolerances import SLACK, assert_close

from course_lib import losses, nn
from course_lib.losses import Reduction

DTYPES = [np.float32, np.float64]
SCALES = [1.0, 10.0, 1e4]
REDUCTIONS = list(Reduction)
B, C = 6, 4  # B != C, so a [C] weight can never pass as a [B] one
LOG_LOSS_SCALE = -math.log(1e-7)  # the largest log_loss term, 16.1


# ---------------------------------------------------------------- inputs and TF helpers
def random_logits(rng, shape, scale, dtype):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def one_hot(ids, num_classes, dtype):
    return np.eye(num_classes, dtype=dtype)[ids]


def mixed_labels(rng, shape, dtype):
    """Softmax labels: one-hot rows, every other row a Dirichlet probability row instead."""
    z = one_hot(rng.integers(0, shape[-1], shape[:-1]), shape[-1], np.float64)
    raw = rng.gamma(0.5, size=shape) + 1e-3
    z[::2] = (raw / raw.sum(axis=-1, keepdims=True))[::2]
    return z.astype(dtype)


def binary_labels(rng, shape, dtype):
    """Sigmoid labels in [0, 1]: uniform, with every third entry rounded to exactly 0 or 1."""
    z = rng.uniform(size=shape)
    z.flat[::3] = np.round(z.flat[::3])
    return z.astype(dtype)


def weight_cases(rng, loss_shape, dtype, squeezable=False):
    """Every weight shape TF accepts for ``loss_shape`` (random, about 1/3 zeros) and more.

    Scalars 1.0 and 0.0 as Python floats (TF has a fast path for them), each shape whose dims
    are 1 or the loss's, all-zero weights of the full shape, and with ``squeezable`` the
    extra trailing-1 shapes that sparse_softmax_cross_entropy squeezes.
    """
    cases = {"1.0": 1.0, "0.0": 0.0, "scalar 2.5": np.asarray(2.5, dtype)}
    shapes = list(itertools.product(*[(1, n) for n in loss_shape]))
    if squeezable:
        shapes += [(*shape, 1) for shape in shapes]
    for shape in shapes:
        w = rng.uniform(0.1, 2.0, shape) * (rng.uniform(size=shape) > 1 / 3)
        cases[str(shape)] = w.astype(dtype)
    cases["all zero"] = np.zeros(loss_shape, dtype)
    return cases


def max_abs(*arrays) -> float:
    return max(1.0, *(float(np.max(np.abs(a), initial=0)) for a in arrays))


def v1_signature(fn):
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.name not in ("scope", "loss_collection")]
    return [(p.name, p.default) for p in params]


# ---------------------------------------------------------------- the API mirrors TF's
def test_reduction_mirrors_tf(tf):
    theirs = tf.compat.v1.losses.Reduction
    for name in ("NONE", "SUM", "MEAN", "SUM_OVER_BATCH_SIZE", "SUM_BY_NONZERO_WEIGHTS",
                 "SUM_OVER_NONZERO_WEIGHTS"):
        assert getattr(Reduction, name) == getattr(theirs, name), name
    assert Reduction.all() == theirs.all()
    assert len(Reduction) == 5  # the deprecated alias is the same member, not a sixth
    assert Reduction.SUM_OVER_NONZERO_WEIGHTS is Reduction.SUM_BY_NONZERO_WEIGHTS
    assert Reduction.validate("weighted_sum") is Reduction.SUM  # plain strings work
    assert isinstance(Reduction.MEAN, str)


@pytest.mark.parametrize("name", ["compute_weighted_loss", "softmax_cross_entropy",
                                  "sparse_softmax_cross_entropy", "sigmoid_cross_entropy",
                                  "log_loss"])
def test_signatures_mirror_tf_without_scope_and_collection(tf, name):
    ours = [(p.name, p.default) for p in
            inspect.signature(getattr(losses, name)).parameters.values()]
    assert ours == v1_signature(getattr(tf.compat.v1.losses, name))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_in_is_dtype_out(tf, dtype):
    x = np.array([[1.0, -2.0, 0.5]], dtype=dtype)
    z = np.array([[0.0, 1.0, 0.0]], dtype=dtype)
    p = np.array([[0.2, 0.7, 0.5]], dtype=dtype)
    for reduction in (Reduction.NONE, Reduction.SUM):
        assert losses.softmax_cross_entropy(z, x, reduction=reduction).dtype == dtype
        assert losses.sparse_softmax_cross_entropy([1], x, reduction=reduction).dtype == dtype
        assert losses.sigmoid_cross_entropy(z, x, reduction=reduction).dtype == dtype
        assert losses.log_loss(z, p, reduction=reduction).dtype == dtype
        assert losses.compute_weighted_loss(x, reduction=reduction).dtype == dtype
    # TF's log_loss casts its inputs to float32 and returns float32 whatever it is given.
    assert tf.compat.v1.losses.log_loss(z, p).dtype == tf.float32


def test_importing_course_lib_losses_does_not_import_tensorflow():
    code = ("import sys, course_lib.losses; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- cross-checks against TF
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_matches_tf(tf, dtype, scale, reduction):
    rng = np.random.default_rng(10)
    x = random_logits(rng, (B, C), scale, dtype)
    z = mixed_labels(rng, (B, C), dtype)
    for case, w in weight_cases(rng, (B,), dtype).items():
        for ls in (0, 0.25):
            expected = tf.compat.v1.losses.softmax_cross_entropy(
                z, x, weights=w, label_smoothing=ls, reduction=reduction.value).numpy()
            ours = losses.softmax_cross_entropy(z, x, w, ls, reduction)
            assert ours.dtype == dtype, case
            assert_close(ours, expected, np.float32, max_abs(x) * max_abs(w), SLACK)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_softmax_cross_entropy_matches_tf(tf, dtype, scale, reduction):
    rng = np.random.default_rng(11)
    x = random_logits(rng, (B, C), scale, dtype)
    y = rng.integers(0, C, B)
    for case, w in weight_cases(rng, (B,), dtype, squeezable=True).items():
        for labels in (y, y[:, None]):  # TF squeezes [B, 1] labels to [B]
            expected = tf.compat.v1.losses.sparse_softmax_cross_entropy(
                labels, x, weights=w, reduction=reduction.value).numpy()
            ours = losses.sparse_softmax_cross_entropy(labels, x, w, reduction)
            assert ours.dtype == dtype, case
            assert_close(ours, expected, np.float32, max_abs(x) * max_abs(w), SLACK)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_cross_entropy_matches_tf(tf, dtype, scale, reduction):
    rng = np.random.default_rng(12)
    x = random_logits(rng, (B, C), scale, dtype)
    z = binary_labels(rng, (B, C), dtype)
    for case, w in weight_cases(rng, (B, C), dtype).items():
        for ls in (0, 0.25):
            expected = tf.compat.v1.losses.sigmoid_cross_entropy(
                z, x, weights=w, label_smoothing=ls, reduction=reduction.value).numpy()
            ours = losses.sigmoid_cross_entropy(z, x, w, ls, reduction)
            assert ours.dtype == dtype, case
            assert_close(ours, expected, np.float32, max_abs(x) * max_abs(w), SLACK)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_loss_matches_tf(tf, dtype, scale, reduction):
    rng = np.random.default_rng(13)
    # Probabilities from random logits: at scale 1e4 nearly all are exactly 0 or 1, where ε
    # decides the loss. They are float32 numbers even for float64, because TF rounds its
    # inputs to float32 first, and 1 - p for a p near 1 would lose all its digits there.
    p = nn.sigmoid(random_logits(rng, (B, C), scale, np.float64)).astype(np.float32)
    p, z = p.astype(dtype), binary_labels(rng, (B, C), dtype)
    for case, w in weight_cases(rng, (B, C), dtype).items():
        for eps in (1e-7, 1e-3):
            expected = tf.compat.v1.losses.log_loss(
                z, p, weights=w, epsilon=eps, reduction=reduction.value).numpy()
            ours = losses.log_loss(z, p, w, eps, reduction)
            assert ours.dtype == dtype, case
            assert_close(ours, expected, np.float32, LOG_LOSS_SCALE * max_abs(w), SLACK)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_compute_weighted_loss_matches_tf(tf, dtype, reduction):
    rng = np.random.default_rng(14)
    values = rng.uniform(0, 5, (B, C)).astype(dtype)
    for case, w in weight_cases(rng, (B, C), dtype).items():
        expected = tf.compat.v1.losses.compute_weighted_loss(
            values, weights=w, reduction=reduction.value).numpy()
        ours = losses.compute_weighted_loss(values, w, reduction)
        assert ours.dtype == dtype, case
        assert_close(ours, expected, np.float32, 5 * max_abs(w), SLACK)


@st.composite
def losses_and_weights(draw):
    """Per-element losses of rank 1-3 with weights of a shape TF accepts (zeros likely)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
    w_shape = draw(st.one_of(st.just(()), st.tuples(*[st.sampled_from([1, n]) for n in shape])))
    dtype = draw(st.sampled_from(DTYPES))
    values = draw(hnp.arrays(dtype, shape, elements=st.floats(0, 100, width=32)))
    w = draw(hnp.arrays(dtype, w_shape, elements=st.sampled_from([0.0, 0.5, 1.0, 3.0])))
    return values, w


@given(losses_and_weights(), st.sampled_from(REDUCTIONS))
def test_compute_weighted_loss_any_rank_matches_tf(tf, case, reduction):
    values, w = case
    expected = tf.compat.v1.losses.compute_weighted_loss(
        values, weights=w, reduction=reduction.value).numpy()
    ours = losses.compute_weighted_loss(values, w, reduction)
    assert_close(ours, expected, np.float32, 100 * max_abs(w), SLACK)


@given(st.integers(0, 2**32 - 1), hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
       st.sampled_from(SCALES), st.sampled_from(DTYPES), st.floats(0, 1),
       st.sampled_from(REDUCTIONS))
def test_softmax_and_sigmoid_any_rank_and_smoothing_match_tf(tf, seed, shape, scale, dtype, ls,
                                                             reduction):
    """Logits ``[*lead, C]``: softmax's loss is ``lead``-shaped, sigmoid's the logits' shape."""
    rng = np.random.default_rng(seed)
    x = random_logits(rng, shape, scale, dtype)
    for name, z, loss_shape in [("softmax_cross_entropy", mixed_labels(rng, shape, dtype),
                                 shape[:-1]),
                                ("sigmoid_cross_entropy", binary_labels(rng, shape, dtype),
                                 shape)]:
        w_shape = tuple(rng.choice([1, n]) for n in loss_shape)
        w = (rng.uniform(0, 2, w_shape) * (rng.uniform(size=w_shape) > 0.3)).astype(dtype)
        expected = getattr(tf.compat.v1.losses, name)(
            z, x, weights=w, label_smoothing=ls, reduction=reduction.value).numpy()
        ours = getattr(losses, name)(z, x, w, ls, reduction)
        assert_close(ours, expected, np.float32, max_abs(x) * max_abs(w), SLACK)


@given(st.integers(0, 2**32 - 1), hnp.array_shapes(min_dims=1, max_dims=2, max_side=5),
       st.integers(1, 6), st.sampled_from(REDUCTIONS))
def test_sparse_any_rank_matches_tf(tf, seed, label_shape, num_classes, reduction):
    rng = np.random.default_rng(seed)
    x = random_logits(rng, (*label_shape, num_classes), 10.0, np.float32)
    y = rng.integers(0, num_classes, label_shape)
    w_shape = tuple(rng.choice([1, n]) for n in label_shape)
    w = rng.uniform(0, 2, w_shape) * (rng.uniform(size=w_shape) > 0.3)
    expected = tf.compat.v1.losses.sparse_softmax_cross_entropy(
        y, x, weights=w, reduction=reduction.value).numpy()
    ours = losses.sparse_softmax_cross_entropy(y, x, w, reduction)
    assert_close(ours, expected, np.float32, max_abs(x) * max_abs(w), SLACK)


# ---------------------------------------------------------------- independent formulas
def reduce_by_hand(l, w, reduction):
    """The five reductions written out directly from their definitions, in float64."""
    w = np.broadcast_to(w, l.shape)
    total = np.sum(w * l)
    return {
        Reduction.NONE: w * l,
        Reduction.SUM: total,
        Reduction.MEAN: total / np.sum(w) if np.sum(w) else 0.0,
        Reduction.SUM_OVER_BATCH_SIZE: total / l.size,
        Reduction.SUM_BY_NONZERO_WEIGHTS: total / np.sum(w != 0) if np.any(w) else 0.0,
    }[reduction]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float64_keeps_float64_accuracy(tf, reduction):
    """Against naive float64 formulas (safe at these small logits), at float64 tolerance."""
    rng = np.random.default_rng(20)
    x = random_logits(rng, (B, C), 2.0, np.float64)
    z = mixed_labels(rng, (B, C), np.float64)
    zb = binary_labels(rng, (B, C), np.float64)
    w_rows, w_cols = np.float64([0, 1, 2, 0, 0.5, 3]), np.float64([[0.5, 0, 1, 2]])
    ls = 0.3
    log_softmax = x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
    smoothed = z * (1 - ls) + ls / C
    expected = reduce_by_hand(-np.sum(smoothed * log_softmax, axis=-1), w_rows, reduction)
    ours = losses.softmax_cross_entropy(z, x, w_rows, ls, reduction)
    assert_close(ours, expected, np.float64, slack=SLACK)
    sig = 1 / (1 + np.exp(-x))
    zs = zb * (1 - ls) + 0.5 * ls
    naive_bce = -(zs * np.log(sig) + (1 - zs) * np.log(1 - sig))
    ours = losses.sigmoid_cross_entropy(zb, x, w_cols, ls, reduction)
    assert_close(ours, reduce_by_hand(naive_bce, w_cols, reduction), np.float64, slack=SLACK)
    y = rng.integers(0, C, B)
    ours = losses.sparse_softmax_cross_entropy(y, x, w_rows, reduction)
    expected = reduce_by_hand(-log_softmax[np.arange(B), y], w_rows, reduction)
    assert_close(ours, expected, np.float64, slack=SLACK)
    # TF is only float32-accurate here: it casts to float32 inside compute_weighted_loss.
    theirs = tf.compat.v1.losses.sigmoid_cross_entropy(
        zb, x, w_cols, ls, reduction=reduction.value).numpy()
    expected = reduce_by_hand(naive_bce, w_cols, reduction)
    assert theirs.dtype == np.float64
    assert_close(theirs, expected, np.float32, slack=SLACK)
    assert np.max(np.abs(theirs - expected)) > 1e-12  # far outside the float64 tolerance


def test_full_label_smoothing_has_closed_forms():
    """ls = 1: softmax labels become 1/C (loss lse - mean x), sigmoid ones 1/2 (log 2cosh(x/2))."""
    rng = np.random.default_rng(21)
    x = random_logits(rng, (B, C), 3.0, np.float64)
    z = mixed_labels(rng, (B, C), np.float64)
    lse = np.log(np.sum(np.exp(x), axis=-1))
    ours = losses.softmax_cross_entropy(z, x, label_smoothing=1.0, reduction=Reduction.NONE)
    assert_close(ours, lse - x.mean(axis=-1), np.float64, 3)
    ours = losses.sigmoid_cross_entropy(z, x, label_smoothing=1.0, reduction=Reduction.NONE)
    assert_close(ours, np.log(2 * np.cosh(x / 2)), np.float64, 3)


def test_sum_by_nonzero_weights_counts_broadcast_entries(tf):
    """[B, 1] weights with 2 zero rows on a [B, C] loss: divide by (B - 2)·C, not by B - 2."""
    values = np.arange(B * C, dtype=np.float64).reshape(B, C)
    w = np.float64([[1], [0], [2], [0], [1], [1]])
    expected = np.sum(w * values) / ((B - 2) * C)
    assert_close(losses.compute_weighted_loss(values, w), expected, np.float64)
    assert_close(tf.compat.v1.losses.compute_weighted_loss(values, w).numpy(), expected,
                 np.float32)


@pytest.mark.parametrize("reduction", [r for r in REDUCTIONS if r is not Reduction.NONE])
def test_all_zero_weights_give_zero_not_nan(tf, reduction):
    """div_no_nan: 0/0 is 0.0, for every reduction; also MEAN with weights summing to 0."""
    x = np.float32([[1.0, -2.0, 3.0], [0.0, 5.0, -1.0]])
    z = np.float32([[0, 1, 0], [1, 0, 0]])
    zeros = np.zeros(2, np.float32)
    for ours, theirs in [
        (losses.softmax_cross_entropy(z, x, 0.0, reduction=reduction),
         tf.compat.v1.losses.softmax_cross_entropy(z, x, 0.0, reduction=reduction.value)),
        (losses.sparse_softmax_cross_entropy([1, 0], x, zeros, reduction=reduction),
         tf.compat.v1.losses.sparse_softmax_cross_entropy([1, 0], x, zeros,
                                                          reduction=reduction.value)),
        (losses.sigmoid_cross_entropy(z, x, zeros[:, None], reduction=reduction),
         tf.compat.v1.losses.sigmoid_cross_entropy(z, x, zeros[:, None],
                                                   reduction=reduction.value)),
        (losses.log_loss(z, np.full_like(z, 0.5), np.zeros_like(z), reduction=reduction),
         tf.compat.v1.losses.log_loss(z, np.full_like(z, 0.5), np.zeros_like(z),
                                      reduction=reduction.value)),
    ]:
        assert ours == 0 and theirs.numpy() == 0
    opposite = np.float32([1.0, -1.0])  # Σw = 0 but the weights are not zero
    values = np.float32([2.0, 3.0])
    assert losses.compute_weighted_loss(values, opposite, Reduction.MEAN) == 0
    assert tf.compat.v1.losses.compute_weighted_loss(values, opposite,
                                                     reduction="weighted_mean").numpy() == 0


def test_log_loss_adds_epsilon_inside_the_log(tf):
    """No clipping: p = 0, z = 1 costs -log ε; a perfect prediction costs -log(1 + ε) < 0."""
    z = np.float32([1, 1, 0, 0])
    p = np.float32([0, 1, 1, 0])
    ours = losses.log_loss(z, p, reduction=Reduction.NONE)
    theirs = tf.compat.v1.losses.log_loss(z, p, reduction="none").numpy()
    assert_close(ours, theirs, np.float32)  # TF's log(1 + ε) is 1 ulp from NumPy's
    f32 = np.float32
    eps = f32(1e-7)
    assert ours[0] == -np.log(eps) and ours[2] == -np.log(eps)
    assert ours[1] == -np.log(f32(1) + eps) < 0  # float32: -1.19e-7
    ours64 = losses.log_loss(z.astype(np.float64), p.astype(np.float64), reduction="none")
    # 1 - p + ε is rounded before the log (as in TF), hence log(1 + ε) and not log1p(ε).
    assert_close(ours64, [-math.log(1e-7), -math.log(1 + 1e-7)] * 2, np.float64)


def test_sparse_squeezes_trailing_ones_like_tf(tf):
    rng = np.random.default_rng(22)
    x = random_logits(rng, (B, C), 1.0, np.float64)
    y = rng.integers(0, C, B)
    w = rng.uniform(0, 2, B)
    base = losses.sparse_softmax_cross_entropy(y, x, w, Reduction.NONE)
    for labels, weights in [(y[:, None], w), (y, w[:, None]), (y[:, None], w[:, None])]:
        np.testing.assert_array_equal(
            losses.sparse_softmax_cross_entropy(labels, x, weights, Reduction.NONE), base)
        theirs = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, x, weights,
                                                                  reduction="none")
        assert theirs.shape == (B,)


# ---------------------------------------------------------------- bad input
LOSSES_ON_BC = {
    # name: call(lib, weights, **kw) with fixed [B, C]-shaped inputs; lib is course_lib.losses
    # or tf.compat.v1.losses, so the same call checks both.
    "softmax_cross_entropy": lambda lib, w, **kw: lib.softmax_cross_entropy(
        one_hot(np.arange(B) % C, C, np.float32), np.zeros((B, C), np.float32), w, **kw),
    "sparse_softmax_cross_entropy": lambda lib, w, **kw: lib.sparse_softmax_cross_entropy(
        np.arange(B) % C, np.zeros((B, C), np.float32), w, **kw),
    "sigmoid_cross_entropy": lambda lib, w, **kw: lib.sigmoid_cross_entropy(
        np.ones((B, C), np.float32), np.zeros((B, C), np.float32), w, **kw),
    "log_loss": lambda lib, w, **kw: lib.log_loss(
        np.ones((B, C), np.float32), np.full((B, C), 0.5, np.float32), w, **kw),
    "compute_weighted_loss": lambda lib, w, **kw: lib.compute_weighted_loss(
        np.ones((B, C), np.float32), w, **kw),
}


@pytest.mark.parametrize("name", list(LOSSES_ON_BC))
def test_unknown_reduction_is_rejected_like_tf(tf, name):
    call = LOSSES_ON_BC[name]
    match = (r"`reduction` must be one of .*'weighted_sum_by_nonzero_weights'.*"
             r"got 'sum_over_batch_size'")
    with pytest.raises(ValueError, match=match):
        call(losses, 1.0, reduction="sum_over_batch_size")  # a Keras name
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        call(tf.compat.v1.losses, 1.0, reduction="sum_over_batch_size")
    with pytest.raises(ValueError, match=r"`reduction` must be one of .*got None"):
        call(losses, 1.0, reduction=None)


@pytest.mark.parametrize(("name", "w_shape", "loss_shape"), [
    ("softmax_cross_entropy", (B, 1), (B,)),
    ("softmax_cross_entropy", (1, C), (B,)),
    ("softmax_cross_entropy", (B, C), (B,)),
    ("softmax_cross_entropy", (C,), (B,)),
    ("sparse_softmax_cross_entropy", (1, C), (B,)),
    ("sparse_softmax_cross_entropy", (B, C), (B,)),
    ("sparse_softmax_cross_entropy", (B, 1, 1), (B,)),
    ("sigmoid_cross_entropy", (B,), (B, C)),
    ("sigmoid_cross_entropy", (C,), (B, C)),
    ("sigmoid_cross_entropy", (B, C, 1), (B, C)),
    ("log_loss", (B,), (B, C)),
    ("log_loss", (C, 1), (B, C)),
    ("compute_weighted_loss", (B,), (B, C)),
    ("compute_weighted_loss", (1, 1, 1), (B, C)),
])
def test_weights_that_cannot_broadcast_are_rejected_like_tf(tf, name, w_shape, loss_shape):
    """TF raises too: ValueError from assert_broadcastable, or InvalidArgumentError when
    sparse_softmax_cross_entropy tries to squeeze a last dimension that is not 1."""
    w = np.ones(w_shape, np.float32)
    match = (rf"`weights` shape {re_shape(w_shape)} cannot be broadcast to the per-element "
             rf"loss shape {re_shape(loss_shape)}; expected a scalar, or rank "
             rf"{len(loss_shape)} with every dimension 1 or equal")
    with pytest.raises(ValueError, match=match):
        LOSSES_ON_BC[name](losses, w)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        LOSSES_ON_BC[name](tf.compat.v1.losses, w)


def re_shape(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")


@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
    lambda shape: st.tuples(st.just(shape), st.one_of(
        hnp.broadcastable_shapes(shape, min_dims=0, max_dims=len(shape) + 1),
        hnp.array_shapes(min_dims=0, max_dims=4, max_side=5)))))
def test_weight_rule_is_tfs_rule(tf, shapes):
    """For any weight shape, ours rejects it exactly when TF rejects it (not NumPy's rule)."""
    loss_shape, w_shape = shapes
    values, w = np.ones(loss_shape, np.float32), np.ones(w_shape, np.float32)
    try:
        tf.compat.v1.losses.compute_weighted_loss(values, w)
        tf_ok = True
    except (ValueError, tf.errors.InvalidArgumentError):
        tf_ok = False
    try:
        losses.compute_weighted_loss(values, w)
        ok = True
    except ValueError as error:
        assert "cannot be broadcast" in str(error)
        ok = False
    assert ok == tf_ok, f"loss {loss_shape}, weights {w_shape}: TF accepts it: {tf_ok}"


@given(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4).flatmap(
    lambda shape: st.tuples(st.just(shape), hnp.array_shapes(min_dims=0, max_dims=3,
                                                             max_side=5))))
def test_sparse_weight_rule_is_tfs_rule(tf, shapes):
    """Same for sparse_softmax_cross_entropy, which squeezes a trailing 1 off the weights."""
    label_shape, w_shape = shapes
    x, y = np.zeros((*label_shape, 3), np.float32), np.zeros(label_shape, np.int32)
    w = np.ones(w_shape, np.float32)
    try:
        tf.compat.v1.losses.sparse_softmax_cross_entropy(y, x, w)
        tf_ok = True
    except (ValueError, tf.errors.InvalidArgumentError):
        tf_ok = False
    try:
        losses.sparse_softmax_cross_entropy(y, x, w)
        ok = True
    except ValueError:
        ok = False
    assert ok == tf_ok, f"labels {label_shape}, weights {w_shape}: TF accepts it: {tf_ok}"


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "sigmoid_cross_entropy"])
def test_label_smoothing_outside_0_1_is_rejected(name):
    call = LOSSES_ON_BC[name]
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError,
                           match=rf"`label_smoothing` must be in \[0, 1\].*got {bad!r}"):
            call(losses, 1.0, label_smoothing=bad)
    for bad in ("0.1", [0.1, 0.2], None):
        with pytest.raises(TypeError, match=r"`label_smoothing` must be a real number; got"):
            call(losses, 1.0, label_smoothing=bad)


def test_tf_silently_ignores_negative_label_smoothing(tf):
    """Why we reject it: TF applies smoothing only `if label_smoothing > 0`, without a word."""
    z = np.float32([[0, 1, 0]])
    x = np.float32([[2.0, 0.0, -1.0]])
    smoothed = tf.compat.v1.losses.softmax_cross_entropy(z, x, label_smoothing=-0.5).numpy()
    assert smoothed == tf.compat.v1.losses.softmax_cross_entropy(z, x).numpy()


def test_epsilon_must_be_positive():
    for bad in (0, -1e-7, float("nan"), float("inf")):
        with pytest.raises(ValueError,
                           match=rf"`epsilon` must be a finite number > 0.*got {bad!r}"):
            LOSSES_ON_BC["log_loss"](losses, 1.0, epsilon=bad)
    with pytest.raises(TypeError, match=r"`epsilon` must be a real number; got '1e-7'"):
        LOSSES_ON_BC["log_loss"](losses, 1.0, epsilon="1e-7")


def test_mismatched_labels_are_rejected_like_tf(tf):
    x = np.zeros((B, C), np.float32)
    errors = (ValueError, TypeError, tf.errors.InvalidArgumentError)
    cases = [
        # v1 softmax does not broadcast [1, C] labels, although tf.nn's softmax CE does.
        ("softmax_cross_entropy", (np.ones((1, C), np.float32), x),
         r"`onehot_labels` shape \(1, 4\) must equal `logits` shape \(6, 4\)"),
        ("sigmoid_cross_entropy", (np.ones((B, 1), np.float32), x),
         r"`multi_class_labels` shape \(6, 1\) must equal `logits` shape \(6, 4\)"),
        ("log_loss", (np.ones((B, C + 1), np.float32), x),
         r"`labels` shape \(6, 5\) must equal `predictions` shape \(6, 4\)"),
        ("sparse_softmax_cross_entropy", (np.zeros((B, 2), np.int32), x),
         r"`labels` shape \(6, 2\) must equal `logits` shape \(6, 4\) without its last"),
    ]
    for name, args, match in cases:
        with pytest.raises(ValueError, match=match):
            getattr(losses, name)(*args)
        with pytest.raises(errors):
            getattr(tf.compat.v1.losses, name)(*args)
    with pytest.raises(TypeError, match=r"`labels` must be integer class ids"):
        losses.sparse_softmax_cross_entropy(np.zeros(B, np.float32), x)
    with pytest.raises(errors):
        tf.compat.v1.losses.sparse_softmax_cross_entropy(np.zeros(B, np.float32), x)
