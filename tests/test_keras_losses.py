"""course_lib.keras_losses against Keras 3: the functional losses and the loss classes' reductions.

Probabilities given to Keras are plain NumPy arrays made here (never ``keras.ops.softmax``
outputs, which hide their logits and make Keras skip the clipping: fact sheet §6).
"""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tolerances import SLACK, assert_close

from course_lib import keras_losses as kl

DTYPES = [np.float32, np.float64]
SCALES = [1.0, 10.0, 1e4]
FUNCTIONS = ["categorical_crossentropy", "sparse_categorical_crossentropy",
             "binary_crossentropy", "binary_focal_crossentropy", "categorical_focal_crossentropy"]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]
CAP = -math.log(1e-7)  # -log ε, the probability path's cap per term: 16.118095...


@pytest.fixture(scope="module")
def keras(tf):
    import keras

    return keras


# ---------------------------------------------------------------- inputs, independent of course_lib
def random_logits(rng, shape, scale, dtype):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def plain_softmax(x, axis=-1):
    """Probabilities as a plain array (float64 maths, then x's dtype): no hidden logits."""
    w = x.astype(np.float64)
    e = np.exp(w - w.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


def plain_sigmoid(x):
    """σ(x) = (1 + tanh(x/2)) / 2: exactly 0 or 1 for |x| >= ~40 in float64."""
    return (0.5 * (1 + np.tanh(x.astype(np.float64) / 2))).astype(x.dtype)


def targets(rng, shape, axis, dtype, soft):
    """Soft (Dirichlet) or one-hot targets along ``axis``."""
    if soft:
        raw = rng.gamma(0.5, size=shape) + 1e-3
        return (raw / raw.sum(axis=axis, keepdims=True)).astype(dtype)
    ids = rng.integers(0, shape[axis], shape[:axis % len(shape)] + shape[axis % len(shape) + 1:])
    return np.moveaxis(np.eye(shape[axis], dtype=dtype)[ids], -1, axis)


def keras_value(keras, name, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(getattr(keras.losses, name)(*args, **kwargs))


def check(ours, theirs, dtype, scale=1.0, slack=4):
    """Same dtype (functional Keras keeps it), same shape, close at the dtype's tolerance.

    The absolute part scales with the logits (``scale``) or with the loss itself, whichever
    is larger: the probability path sums terms of up to 16.1 each.
    """
    assert ours.dtype == theirs.dtype == dtype
    size = float(np.max(np.abs(theirs))) if theirs.size and np.all(np.isfinite(theirs)) else 1.0
    assert_close(ours, theirs, dtype, max(scale, size), slack)


def pred_and_scale(rng, shape, scale, dtype, from_logits, axis=-1, binary=False):
    """(y_pred, tolerance scale): logits and their max |x|, or probabilities made from them."""
    x = random_logits(rng, shape, scale, dtype)
    if from_logits:
        return x, max(1.0, float(np.max(np.abs(x))))
    return (plain_sigmoid(x) if binary else plain_softmax(x, axis)), 1.0


cases = st.tuples(
    st.integers(0, 2**32 - 1),                            # seed for the values
    st.lists(st.integers(1, 4), min_size=0, max_size=2),  # leading (batch) dims
    st.integers(2, 7),                                    # number of classes
    st.sampled_from(SCALES),
    st.sampled_from(DTYPES),
    st.booleans(),                                        # from_logits
)
smoothing = st.sampled_from([0.0, 0.1, 0.5, 1.0])


# ---------------------------------------------------------------- API
def test_signatures_match_keras(keras):
    for name in FUNCTIONS:
        ours = inspect.signature(getattr(kl, name)).parameters
        theirs = inspect.signature(getattr(keras.losses, name)).parameters
        assert [(p.name, p.default) for p in ours.values()] == \
               [(p.name, p.default) for p in theirs.values()], name
    params = inspect.signature(kl.reduce_loss).parameters
    assert [(p.name, p.default) for p in params.values()] == [
        ("losses", inspect.Parameter.empty), ("sample_weight", None),
        ("reduction", "sum_over_batch_size")]
    assert params["reduction"].default == \
        inspect.signature(keras.losses.Loss).parameters["reduction"].default
    assert set(kl.REDUCTIONS) == set(REDUCTIONS)


def test_importing_keras_losses_does_not_import_tensorflow():
    code = ("import sys, course_lib.keras_losses; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- the five losses vs Keras
@given(cases, smoothing, st.booleans())
def test_categorical_crossentropy_matches_keras(keras, case, ls, soft):
    seed, lead, num_classes, scale, dtype, from_logits = case
    rng = np.random.default_rng(seed)
    shape = (*lead, num_classes)
    y_pred, tol = pred_and_scale(rng, shape, scale, dtype, from_logits)
    y_true = targets(rng, shape, -1, dtype, soft)
    kwargs = {"from_logits": from_logits, "label_smoothing": ls}
    check(kl.categorical_crossentropy(y_true, y_pred, **kwargs),
          keras_value(keras, "categorical_crossentropy", y_true, y_pred, **kwargs), dtype, tol)


@given(cases, st.sampled_from([None, -1, 0, 255]), st.sampled_from(["int32", "int64", "float32"]),
       st.booleans())
def test_sparse_categorical_crossentropy_matches_keras(keras, case, ignore_class, label_dtype,
                                                       trailing_one):
    seed, lead, num_classes, scale, dtype, from_logits = case
    rng = np.random.default_rng(seed)
    y_pred, tol = pred_and_scale(rng, (*lead, num_classes), scale, dtype, from_logits)
    y_true = rng.integers(0, num_classes, lead)
    if ignore_class is not None:
        y_true = np.where(rng.uniform(size=lead) < 0.3, ignore_class, y_true)
    y_true = y_true.astype(label_dtype)
    if trailing_one:
        y_true = y_true[..., None]                    # [B, 1] labels are squeezed
    kwargs = {"from_logits": from_logits, "ignore_class": ignore_class}
    ours = kl.sparse_categorical_crossentropy(y_true, y_pred, **kwargs)
    check(ours, keras_value(keras, "sparse_categorical_crossentropy", y_true, y_pred, **kwargs),
          dtype, tol)
    if ignore_class is not None:
        counted = np.asarray(y_true).reshape(lead) != ignore_class
        np.testing.assert_array_equal(ours.keras_mask, counted)
        assert np.all(ours[~counted] == 0)


@given(cases, smoothing, st.booleans(), st.integers(-3, 2))
def test_binary_crossentropy_matches_keras(keras, case, ls, soft, axis):
    seed, lead, num_labels, scale, dtype, from_logits = case
    rng = np.random.default_rng(seed)
    shape = (*lead, num_labels)
    axis = axis % len(shape) - len(shape)              # any valid axis, the mean goes there
    y_pred, tol = pred_and_scale(rng, shape, scale, dtype, from_logits, binary=True)
    y_true = rng.uniform(size=shape).astype(dtype) if soft else \
        rng.integers(0, 2, shape).astype(dtype)
    kwargs = {"from_logits": from_logits, "label_smoothing": ls, "axis": axis}
    check(kl.binary_crossentropy(y_true, y_pred, **kwargs),
          keras_value(keras, "binary_crossentropy", y_true, y_pred, **kwargs), dtype, tol)


@given(cases, smoothing, st.booleans(), st.sampled_from([0.0, 0.25, 0.6, 1.0]),
       st.sampled_from([0.0, 0.5, 2.0, 3.0]))
def test_binary_focal_crossentropy_matches_keras(keras, case, ls, balancing, alpha, gamma):
    seed, lead, num_labels, scale, dtype, from_logits = case
    rng = np.random.default_rng(seed)
    shape = (*lead, num_labels)
    y_pred, tol = pred_and_scale(rng, shape, scale, dtype, from_logits, binary=True)
    y_true = rng.integers(0, 2, shape).astype(dtype)
    kwargs = {"apply_class_balancing": balancing, "alpha": alpha, "gamma": gamma,
              "from_logits": from_logits, "label_smoothing": ls}
    check(kl.binary_focal_crossentropy(y_true, y_pred, **kwargs),
          keras_value(keras, "binary_focal_crossentropy", y_true, y_pred, **kwargs), dtype, tol)


@given(cases, smoothing, st.booleans(), st.sampled_from(["scalar", "array", "list"]),
       st.sampled_from([0.0, 0.5, 2.0, 3.0]))
def test_categorical_focal_crossentropy_matches_keras(keras, case, ls, soft, alpha_kind, gamma):
    seed, lead, num_classes, scale, dtype, from_logits = case
    rng = np.random.default_rng(seed)
    shape = (*lead, num_classes)
    y_pred, tol = pred_and_scale(rng, shape, scale, dtype, from_logits)
    y_true = targets(rng, shape, -1, dtype, soft)
    per_class = rng.uniform(0.1, 2.0, num_classes)
    # A Python list goes through a float32 tensor in Keras before the cast to y_pred's dtype.
    alpha = {"scalar": 0.25, "array": per_class.astype(dtype), "list": per_class.tolist()}
    kwargs = {"alpha": alpha[alpha_kind], "gamma": gamma, "from_logits": from_logits,
              "label_smoothing": ls}
    check(kl.categorical_focal_crossentropy(y_true, y_pred, **kwargs),
          keras_value(keras, "categorical_focal_crossentropy", y_true, y_pred, **kwargs),
          dtype, tol)


# ---------------------------------------------------------------- axes other than the last
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize(("shape", "axis"), [((5, 3), 0), ((2, 4, 3, 5), 1), ((2, 3, 4), -2)])
def test_class_axis_other_than_last_matches_keras(keras, tf, dtype, from_logits, shape, axis):
    rng = np.random.default_rng(1)
    x = random_logits(rng, shape, 3.0, dtype)
    y_pred = x if from_logits else plain_softmax(x, axis)
    y_true = targets(rng, shape, axis, dtype, soft=False)
    for name, kwargs in [("categorical_crossentropy", {"label_smoothing": 0.2}),
                         ("categorical_focal_crossentropy", {"alpha": 0.5, "gamma": 1.0}),
                         ("binary_crossentropy", {}), ("binary_focal_crossentropy", {})]:
        kwargs = {**kwargs, "from_logits": from_logits, "axis": axis}
        if name.startswith("binary") and not from_logits:
            kwargs["label_smoothing"] = 0.1
        ours = getattr(kl, name)(y_true, y_pred, **kwargs)
        if name == "categorical_crossentropy" and from_logits and axis < -1:
            # tf.nn.softmax_cross_entropy_with_logits fails on a negative axis other than -1
            # (its Range(0, axis) op); we compute it, so compare with the same positive axis.
            with pytest.raises(tf.errors.InvalidArgumentError, match="Range"):
                keras_value(keras, name, y_true, y_pred, **kwargs)
            kwargs["axis"] = axis % len(shape)
        check(ours, keras_value(keras, name, y_true, y_pred, **kwargs), dtype, 10)


def test_label_smoothing_divides_by_the_last_dimension_even_with_another_axis(keras):
    """Keras smooths with ls / y_true.shape[-1], not ls / (number of classes): mirrored."""
    rng = np.random.default_rng(2)
    x = random_logits(rng, (2, 3, 5), 2.0, np.float64)          # classes on axis 1, W = 5
    y = targets(rng, x.shape, 1, np.float64, soft=False)
    ours = kl.categorical_crossentropy(y, x, from_logits=True, label_smoothing=0.3, axis=1)
    check(ours, keras_value(keras, "categorical_crossentropy", y, x, from_logits=True,
                            label_smoothing=0.3, axis=1), np.float64)
    log_softmax = x - x.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    per_last_dim = -np.sum((0.7 * y + 0.3 / 5) * log_softmax, axis=1)
    per_class = -np.sum((0.7 * y + 0.3 / 3) * log_softmax, axis=1)
    np.testing.assert_allclose(ours, per_last_dim, rtol=1e-13)
    assert np.max(np.abs(ours - per_class)) > 0.01


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_accepts_the_last_axis_by_its_positive_index(keras, dtype):
    rng = np.random.default_rng(3)
    x = random_logits(rng, (2, 3, 4), 5.0, dtype)
    y = rng.integers(0, 4, (2, 3))
    check(kl.sparse_categorical_crossentropy(y, x, True, None, 2),
          keras_value(keras, "sparse_categorical_crossentropy", y, x, True, None, 2), dtype, 20)
    with pytest.raises(ValueError, match="Only axis=-1"):
        keras.losses.sparse_categorical_crossentropy(y, x, from_logits=True, axis=1)
    with pytest.raises(ValueError, match=r"`axis`=1 is not supported.*axis=-1 \(or 2 here\)"):
        kl.sparse_categorical_crossentropy(y, x, from_logits=True, axis=1)


# ---------------------------------------------------------------- the from_logits=False trap
@pytest.mark.parametrize("dtype", DTYPES)
def test_probability_path_caps_each_term(keras, dtype):
    """Fact sheet §6: logits [0, 30, -30, 0, 0], target 2: 60 from logits, 16.118 from p."""
    x = np.array([[0.0, 30.0, -30.0, 0.0, 0.0]], dtype)
    p = plain_softmax(x)
    y = np.array([2])
    onehot = np.eye(5, dtype=dtype)[y]
    true_loss = np.log(np.sum(np.exp(x.astype(np.float64) - 30))) + 30 + 30  # lse - x_2
    for fn, target in [(kl.categorical_crossentropy, onehot),
                       (kl.sparse_categorical_crossentropy, y)]:
        from_logits = fn(target, x, from_logits=True)
        from_probs = fn(target, p)
        np.testing.assert_allclose(from_logits, [true_loss], rtol=1e-6)
        name = fn.__name__
        check(from_logits, keras_value(keras, name, target, x, from_logits=True), dtype, 60)
        check(from_probs, keras_value(keras, name, target, p), dtype, 20)
        assert from_probs[0] < CAP + 1e-5                 # the clip: p_2 = 1e-7 at best
    np.testing.assert_allclose(kl.categorical_crossentropy(onehot, p), [CAP], rtol=1e-6)
    # The same probabilities made by keras.ops.softmax carry their logits: Keras says 60.
    hidden = keras.ops.softmax(x)
    assert float(keras.losses.categorical_crossentropy(onehot, hidden)[0]) == \
        pytest.approx(true_loss, rel=1e-6)


def test_binary_clip_is_asymmetric_in_float32(keras):
    """1 - 1e-7 rounds to 1 - 2^-23 in float32: BCE with z = 0, p = 1 gives 15.942, not 16.118."""
    y = np.array([[0.0, 1.0]], np.float32)
    p = np.array([[1.0, 0.0]], np.float32)
    ours = kl.binary_crossentropy(y, p)
    upper_cap = -math.log(2.0**-23)                   # 15.942385...
    assert np.float32(1) - np.float32(1 - 1e-7) == np.float32(2.0**-23)
    np.testing.assert_allclose(ours, [(upper_cap + CAP) / 2], rtol=1e-6)
    check(ours, keras_value(keras, "binary_crossentropy", y, p), np.float32)
    np.testing.assert_allclose(kl.binary_crossentropy(y[:, :1], p[:, :1]), [upper_cap], rtol=1e-6)
    np.testing.assert_allclose(kl.binary_crossentropy(y[:, 1:], p[:, 1:]), [CAP], rtol=1e-6)
    # float64 keeps 1 - (1 - 1e-7) ≈ 1e-7: both caps are 16.118.
    np.testing.assert_allclose(kl.binary_crossentropy(y.astype(float), p.astype(float)), [CAP],
                               rtol=1e-8)


# ---------------------------------------------------------------- focal losses: identities
@pytest.mark.parametrize("dtype", DTYPES)
def test_focal_losses_reduce_to_cross_entropy(dtype):
    rng = np.random.default_rng(4)
    x = random_logits(rng, (6, 4), 2.0, dtype)
    y = targets(rng, x.shape, -1, dtype, soft=False)
    for from_logits in (False, True):
        pred = x if from_logits else plain_sigmoid(x)
        assert_close(kl.binary_focal_crossentropy(y, pred, gamma=0.0, from_logits=from_logits),
                     kl.binary_crossentropy(y, pred, from_logits=from_logits), dtype, 10)
    p = plain_softmax(x)
    # alpha scales every class: gamma = 0 gives alpha times the categorical CE.
    assert_close(kl.categorical_focal_crossentropy(y, p, alpha=0.25, gamma=0.0),
                 0.25 * kl.categorical_crossentropy(y, p), dtype, 10, SLACK)


def test_categorical_focal_clips_even_with_logits(keras):
    """gamma = 0, alpha = 1, logits [-40, 40, 0], target 0: focal 16.118 where CE gives 80."""
    x = np.array([[-40.0, 40.0, 0.0]])
    y = np.array([[1.0, 0.0, 0.0]])
    focal = kl.categorical_focal_crossentropy(y, x, alpha=1.0, gamma=0.0, from_logits=True)
    np.testing.assert_allclose(focal, [CAP], rtol=1e-12)
    np.testing.assert_allclose(kl.categorical_crossentropy(y, x, from_logits=True), [80.0],
                               rtol=1e-12)
    check(focal, keras_value(keras, "categorical_focal_crossentropy", y, x, alpha=1.0, gamma=0.0,
                             from_logits=True), np.float64)
    # Binary focal with logits is not clipped: 40 at logit -40 (Keras reads the hidden logits).
    binary = kl.binary_focal_crossentropy(np.ones((1, 1)), np.full((1, 1), -40.0), gamma=0.0,
                                          from_logits=True)
    np.testing.assert_allclose(binary, [40.0], rtol=1e-12)
    check(binary, keras_value(keras, "binary_focal_crossentropy", np.ones((1, 1)),
                              np.full((1, 1), -40.0), gamma=0.0, from_logits=True), np.float64)


# ---------------------------------------------------------------- reduce_loss vs loss classes
def make_weight(kind, rng, batch):
    return {
        None: None,
        "vector": np.where(np.arange(batch) % 2 == 1, 0.0, rng.uniform(0.1, 2, batch)),
        "column": np.where(np.arange(batch) % 2 == 1, 0.0, rng.uniform(0.1, 2, batch))[:, None],
        "python scalar": 2.5,
        "0-d array": np.array(0.5),
        "zeros": np.zeros(batch),
    }[kind]


WEIGHT_KINDS = [None, "vector", "column", "python scalar", "0-d array", "zeros"]


def keras_class_value(keras, cls, kwargs, reduction, dtype, y, x, weight):
    loss = getattr(keras.losses, cls)(**kwargs, reduction=reduction, dtype=np.dtype(dtype).name)
    return np.asarray(loss(y, x, sample_weight=weight))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("weight_kind", WEIGHT_KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reduce_loss_matches_keras_loss_classes(keras, reduction, weight_kind, batch, dtype):
    rng = np.random.default_rng(5)
    x = random_logits(rng, (batch, 4), 3.0, dtype)
    y = targets(rng, x.shape, -1, dtype, soft=True)
    w = make_weight(weight_kind, rng, batch)
    ours = kl.reduce_loss(kl.categorical_crossentropy(y, x, from_logits=True), w, reduction)
    theirs = keras_class_value(keras, "CategoricalCrossentropy", {"from_logits": True},
                               reduction, dtype, y, x, w)
    check(ours, theirs, dtype, 20, SLACK)
    # BCE per sample is a mean over the labels; the class reduces those [B] values alike.
    p = plain_sigmoid(x)
    ours = kl.reduce_loss(kl.binary_crossentropy(y, p, label_smoothing=0.1), w, reduction)
    theirs = keras_class_value(keras, "BinaryCrossentropy", {"label_smoothing": 0.1},
                               reduction, dtype, y, p, w)
    check(ours, theirs, dtype, 20, SLACK)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_kind", WEIGHT_KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_reduce_loss_with_ignore_class_matches_keras(keras, reduction, weight_kind, dtype):
    """The hidden mask: ignored entries count in no divisor."""
    rng = np.random.default_rng(6)
    x = random_logits(rng, (6, 3), 3.0, dtype)
    w = make_weight(weight_kind, rng, 6)
    for y in (np.array([0, -1, 2, 1, -1, 0]), np.full(6, -1)):   # some, then all ignored
        losses = kl.sparse_categorical_crossentropy(y, x, from_logits=True, ignore_class=-1)
        theirs = keras_class_value(keras, "SparseCategoricalCrossentropy",
                                   {"from_logits": True, "ignore_class": -1}, reduction, dtype,
                                   y, x, w)
        check(kl.reduce_loss(losses, w, reduction), theirs, dtype, 20, SLACK)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight", "none"])
def test_reduce_loss_per_pixel_matches_keras(keras, tf, reduction, dtype):
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, (2, 4, 5))
    x = random_logits(rng, (2, 4, 5, 3), 3.0, dtype)
    losses = kl.sparse_categorical_crossentropy(y, x, from_logits=True)
    for w in (None, rng.uniform(size=(2, 4, 5)), np.array([1.0, 0.0])[:, None, None]):
        theirs = keras_class_value(keras, "SparseCategoricalCrossentropy", {"from_logits": True},
                                   reduction, dtype, y, x, w)
        check(kl.reduce_loss(losses, w, reduction), theirs, dtype, 20, SLACK)
    # [B] weights for [B, H, W] losses broadcast against W: an error in both (W = 5 != B = 2).
    with pytest.raises(ValueError, match=r"`sample_weight` shape \(2,\) does not broadcast"):
        kl.reduce_loss(losses, np.ones(2), reduction)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        keras_class_value(keras, "SparseCategoricalCrossentropy", {"from_logits": True},
                          reduction, dtype, y, x, np.ones(2))


def test_reduce_loss_formulas():
    """Independent of Keras: the divisor counts elements, not the weights."""
    l = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 0.0, 2.0, 0.5])
    assert kl.reduce_loss(l, w) == pytest.approx((1 + 6 + 2) / 4)
    assert kl.reduce_loss(l, w, "mean") == pytest.approx((1 + 6 + 2) / 4)
    assert kl.reduce_loss(l, w, "mean_with_sample_weight") == pytest.approx(9 / 3.5)
    assert kl.reduce_loss(l, w, "sum") == pytest.approx(9)
    np.testing.assert_array_equal(kl.reduce_loss(l, w, "none"), l * w)
    assert kl.reduce_loss(l, np.zeros(4), "mean_with_sample_weight") == 0   # divide_no_nan
    assert kl.reduce_loss(l, 2.0, "mean_with_sample_weight") == pytest.approx(10)  # Σ2l / 2
    assert kl.reduce_loss(l, w[:, None], "none").shape == (4, 1)            # [B] -> [B, 1]
    assert kl.reduce_loss(l.astype(np.float32), w).dtype == np.float32


def test_masked_losses_lose_their_mask_when_derived():
    x = np.zeros((4, 3))
    losses = kl.sparse_categorical_crossentropy([0, -1, 1, -1], x, True, ignore_class=-1)
    assert isinstance(losses, kl.MaskedLosses)
    np.testing.assert_array_equal(losses.keras_mask, [True, False, True, False])
    assert kl.reduce_loss(losses) == pytest.approx(math.log(3))        # ÷ 2 counted entries
    assert losses[:].keras_mask is None and (losses * 1).keras_mask is None
    assert kl.reduce_loss(np.array(losses)) == pytest.approx(math.log(3) / 2)  # ÷ 4
    assert type(kl.sparse_categorical_crossentropy([0, 1, 1, 2], x, True)) is np.ndarray


# ---------------------------------------------------------------- labels, dtypes, warnings
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_in_is_dtype_out(dtype):
    x = np.array([[0.2, 0.3, 0.5]], dtype=dtype)
    y = np.array([[0, 0, 1]])                           # integer targets are cast
    for name in FUNCTIONS:
        target = np.array([2]) if name.startswith("sparse") else y
        for from_logits in (False, True):
            assert getattr(kl, name)(target, x, from_logits=from_logits).dtype == dtype, name
    assert kl.reduce_loss(kl.binary_crossentropy(y, x), np.ones(1)).dtype == dtype


def test_float_labels_must_be_integer_valued(keras):
    """Keras casts float labels to int64 (truncating 1.7 to 1); we accept only whole numbers."""
    x = random_logits(np.random.default_rng(8), (3, 4), 2.0, np.float32)
    y = np.array([1.0, 0.0, 3.0], np.float32)
    check(kl.sparse_categorical_crossentropy(y, x, from_logits=True),
          keras_value(keras, "sparse_categorical_crossentropy", y.astype(np.int64), x,
                      from_logits=True), np.float32, 5)
    truncated = keras_value(keras, "sparse_categorical_crossentropy", np.float32([1.7, 0, 3]), x,
                            from_logits=True)
    np.testing.assert_array_equal(truncated, keras_value(
        keras, "sparse_categorical_crossentropy", np.array([1, 0, 3]), x, from_logits=True))
    with pytest.raises(ValueError, match=r"`y_true` holds 1.7.*not a class id"):
        kl.sparse_categorical_crossentropy(np.float32([1.7, 0, 3]), x, from_logits=True)
    with pytest.raises(ValueError, match=r"`y_true` holds nan"):
        kl.sparse_categorical_crossentropy(np.float32([np.nan, 0, 3]), x, from_logits=True)


def test_single_class_warns_like_keras(keras):
    y, p = np.ones((3, 1)), np.full((3, 1), 0.7)
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        ours = kl.categorical_crossentropy(y, p)
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        theirs = np.asarray(keras.losses.categorical_crossentropy(y, p))
    check(ours, theirs, np.float64)
    with pytest.warns(SyntaxWarning, match="categorical_focal_crossentropy"):
        kl.categorical_focal_crossentropy(y, p)


# ---------------------------------------------------------------- bad input
def test_errors_name_the_argument_and_what_was_expected():
    x = np.full((4, 5), 0.2, np.float32)
    y = np.eye(5, dtype=np.float32)[[0, 1, 2, 3]]
    ids = np.array([0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"`y_true` shape \(4, 6\) must equal `y_pred` shape"):
        kl.categorical_crossentropy(np.zeros((4, 6)), x)
    with pytest.raises(ValueError, match=r"`y_true` shape \(1, 5\) must equal"):
        kl.categorical_focal_crossentropy(y[:1], x)     # Keras broadcasts here; we do not
    with pytest.raises(ValueError, match=r"`y_true` shape \(4, 4\)"):
        kl.binary_crossentropy(np.zeros((4, 4)), x)
    with pytest.raises(ValueError, match=r"`y_true` shape \(5,\) must equal `y_pred` shape "
                                         r"\(4, 5\) without its last .*\(4,\)"):
        kl.sparse_categorical_crossentropy(np.zeros(5, int), x)
    with pytest.raises(ValueError, match=r"class id 5, outside the valid range \[0, 5\)"):
        kl.sparse_categorical_crossentropy(np.array([0, 1, 5, 2]), x)
    with pytest.raises(ValueError, match=r"class id -2 \(other than ignore_class=-1\)"):
        kl.sparse_categorical_crossentropy(np.array([0, -1, -2, 2]), x, ignore_class=-1)
    with pytest.raises(TypeError, match=r"`y_true` must hold integer class ids.*bool"):
        kl.sparse_categorical_crossentropy(np.ones(4, bool), x)
    with pytest.raises(TypeError, match=r"`ignore_class` must be None or an int.*1.5"):
        kl.sparse_categorical_crossentropy(ids, x, ignore_class=1.5)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"`label_smoothing` must be in \[0, 1\]; got {bad}"):
            kl.categorical_crossentropy(y, x, label_smoothing=bad)
    with pytest.raises(TypeError, match=r"`label_smoothing` must be a real number; got '0.1'"):
        kl.binary_crossentropy(y, x, label_smoothing="0.1")
    with pytest.raises(ValueError, match=r"`gamma` must be >= 0.*got -1.0"):
        kl.binary_focal_crossentropy(y, x, gamma=-1.0)
    with pytest.raises(ValueError, match=r"`gamma` must be finite; got inf"):
        kl.categorical_focal_crossentropy(y, x, gamma=math.inf)
    with pytest.raises(ValueError, match=r"`alpha` must be in \[0.0, 1.0\]; got 1.5"):
        kl.binary_focal_crossentropy(y, x, apply_class_balancing=True, alpha=1.5)
    with pytest.raises(ValueError, match=r"`alpha` must be in \[0.0, inf\]; got -0.5"):
        kl.categorical_focal_crossentropy(y, x, alpha=[1.0, -0.5, 1, 1, 1])
    with pytest.raises(ValueError, match=r"`alpha` shape \(3,\) does not broadcast"):
        kl.categorical_focal_crossentropy(y, x, alpha=np.ones(3))
    with pytest.raises(TypeError, match=r"`from_logits` must be True or False; got 'yes'"):
        kl.categorical_crossentropy(y, x, from_logits="yes")
    with pytest.raises(TypeError, match=r"`axis` must be an int; got True"):
        kl.binary_crossentropy(y, x, axis=True)
    with pytest.raises(ValueError, match=r"`axis`=2 is out of range for `y_pred` of rank 2"):
        kl.categorical_crossentropy(y, x, axis=2)
    with pytest.raises(ValueError, match=r"`reduction` must be one of .*; got 'auto'"):
        kl.reduce_loss(np.ones(4), reduction="auto")
    with pytest.raises(ValueError, match=r"`sample_weight` shape \(3,\) does not broadcast"):
        kl.reduce_loss(np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match=r"`sample_weight` must be finite; got nan"):
        kl.reduce_loss(np.ones(4), np.array([1, np.nan, 1, 1]))


def test_keras_rejects_the_same_shapes_and_values(keras, tf):
    """Where Keras checks at all, it refuses the same inputs (the other checks are ours)."""
    x = np.full((4, 5), 0.2, np.float32)
    errors = (ValueError, TypeError, tf.errors.InvalidArgumentError)
    cases = [
        lambda: keras.losses.categorical_crossentropy(np.zeros((4, 6)), x),
        lambda: keras.losses.binary_crossentropy(np.zeros((4, 4)), x),
        lambda: keras.losses.sparse_categorical_crossentropy(np.zeros(5, int), x),
        lambda: keras.losses.sparse_categorical_crossentropy(np.array([0, 1, 5, 2]), x),
        lambda: keras.losses.sparse_categorical_crossentropy(np.array([0, -1, -2, 2]), x,
                                                             ignore_class=-1),
        lambda: keras.losses.CategoricalCrossentropy(reduction="auto"),
        lambda: keras.losses.categorical_crossentropy(x, x, axis=True),
    ]
    for case in cases:
        with pytest.raises(errors):
            case()
