"""diagnose: silent on correct inputs (Hypothesis), and each code triggered by its mistake."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib import diagnose, keras_losses, nn
from course_lib.diagnose import CODES, MIN_ROWS, MIN_VALUES, Finding, loss_spec

# problem kind -> (TF op name, Keras class name, Keras function name)
KINDS = {
    "sparse": ("sparse_softmax_cross_entropy_with_logits", "SparseCategoricalCrossentropy",
               "sparse_categorical_crossentropy"),
    "one_hot": ("softmax_cross_entropy_with_logits", "CategoricalCrossentropy",
                "categorical_crossentropy"),
    "soft": ("softmax_cross_entropy_with_logits", "CategoricalCrossentropy",
             "categorical_crossentropy"),
    "multi_hot": ("sigmoid_cross_entropy_with_logits", "BinaryCrossentropy",
                  "binary_crossentropy"),
    "binary": ("sigmoid_cross_entropy_with_logits", "BinaryCrossentropy",
               "binary_crossentropy"),
}
HOW = ("tf.nn", "keras class, logits", "keras class, probabilities", "keras function, logits",
       "keras function, probabilities", "name, probabilities")


@pytest.fixture(scope="module")
def keras(tf):
    from course_lib.tf_setup import import_keras

    return import_keras()


def make_loss(how: str, kind: str, tf, keras):
    """(the loss object, whether it expects logits) for one way of naming the loss."""
    op, cls, fn = KINDS[kind]
    return {
        "tf.nn": (getattr(tf.nn, op), True),
        "keras class, logits": (getattr(keras.losses, cls)(from_logits=True), True),
        "keras class, probabilities": (getattr(keras.losses, cls)(), False),
        "keras function, logits": (functools.partial(getattr(keras.losses, fn),
                                                     from_logits=True), True),
        "keras function, probabilities": (getattr(keras.losses, fn), False),
        "name, probabilities": (fn, False),
    }[how]


def correct_inputs(kind: str, batch: int, classes: int, scale: float, shift: float,
                   seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, logits, probabilities) as a correct program would pass them (float32)."""
    rng = np.random.default_rng(seed)
    if kind == "binary":
        classes = 1
    logits = (scale * rng.standard_normal((batch, classes)) + shift).astype(np.float32)
    ids = rng.integers(0, classes, batch)
    labels = {"sparse": ids,
              "one_hot": np.eye(classes, dtype=np.float32)[ids],
              "soft": rng.dirichlet(np.ones(classes), batch).astype(np.float32),
              "multi_hot": (rng.random((batch, classes)) < 0.3).astype(np.float32),
              "binary": rng.integers(0, 2, (batch, 1)).astype(np.float32)}[kind]
    sigmoid = kind in ("multi_hot", "binary")
    probs = nn.sigmoid(logits) if sigmoid else nn.softmax(logits)
    return labels, logits, probs


@given(kind=st.sampled_from(list(KINDS)), how=st.sampled_from(HOW),
       batch=st.integers(1, 40), classes=st.integers(2, 12),
       scale=st.floats(1.0, 10.0), shift=st.floats(-3.0, 3.0), seed=st.integers(0, 2**16))
def test_correct_inputs_give_no_finding(tf, keras, kind, how, batch, classes, scale, shift,
                                        seed):
    loss, wants_logits = make_loss(how, kind, tf, keras)
    labels, logits, probs = correct_inputs(kind, batch, classes, scale, shift, seed)
    assert diagnose(labels, logits if wants_logits else probs, loss) == []


@given(seed=st.integers(0, 2**16), scale=st.floats(0.5, 4.0))
def test_float16_that_does_not_saturate_is_not_flagged(tf, keras, seed, scale):
    labels, logits, probs = correct_inputs("one_hot", 16, 5, scale, 0.0, seed)
    assert diagnose(labels, logits.astype(np.float16), tf.nn.softmax_cross_entropy_with_logits) \
        == []
    assert diagnose(labels, np.clip(probs, 0.01, 0.99).astype(np.float16),
                    keras.losses.CategoricalCrossentropy()) == []


def test_tensors_are_accepted(tf):
    labels, logits, _ = correct_inputs("sparse", 8, 4, 2.0, 0.0, 0)
    assert diagnose(tf.constant(labels), tf.constant(logits),
                    tf.nn.sparse_softmax_cross_entropy_with_logits) == []


# ---------------------------------------------------------------- one mistake per code
RNG = np.random.default_rng(1)
LOGITS = (3 * RNG.standard_normal((MIN_ROWS, 4))).astype(np.float32)
IDS = RNG.integers(0, 4, MIN_ROWS)
ONE_HOT = np.eye(4, dtype=np.float32)[IDS]
PROBS = nn.softmax(LOGITS)
TAGS = np.array([[1, 1, 0, 0], [0, 1, 0, 1]] * (MIN_ROWS // 2), np.float32)
BINARY_IDS = IDS % 2


def mistakes(tf, keras):
    """code -> (y_true, y_pred, loss): the classic mistake each code names."""
    return {
        "probabilities-as-logits": (IDS, PROBS, tf.nn.sparse_softmax_cross_entropy_with_logits),
        "logits-as-probabilities": (ONE_HOT, LOGITS, keras.losses.CategoricalCrossentropy()),
        "double-softmax": (ONE_HOT, nn.softmax(PROBS), "categorical_crossentropy"),
        "one-hot-into-sparse": (ONE_HOT, LOGITS,
                                keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        "int-labels-into-dense": (IDS, LOGITS, tf.nn.softmax_cross_entropy_with_logits),
        "softmax-on-multilabel": (TAGS, LOGITS,
                                  keras.losses.CategoricalCrossentropy(from_logits=True)),
        "categorical-on-single-unit": (BINARY_IDS[:, None].astype(np.float32), LOGITS[:, :1],
                                       keras.losses.CategoricalCrossentropy(from_logits=True)),
        "label-out-of-range": (IDS + 1, LOGITS, tf.nn.sparse_softmax_cross_entropy_with_logits),
        "silent-broadcast": (BINARY_IDS.astype(np.float32), LOGITS[:, :1],
                             tf.nn.softmax_cross_entropy_with_logits),
        "rank-mismatch": (BINARY_IDS.astype(np.float32), LOGITS[:, :1],
                          tf.nn.sigmoid_cross_entropy_with_logits),
        "float16-saturation": (BINARY_IDS[:, None].astype(np.float32),
                               nn.sigmoid(20 * LOGITS[:, :1]).astype(np.float16),
                               keras.losses.BinaryCrossentropy()),
    }


@pytest.mark.parametrize("code", CODES)
def test_each_code_is_triggered_by_its_mistake(tf, keras, code):
    y_true, y_pred, loss = mistakes(tf, keras)[code]
    findings = diagnose(y_true, y_pred, loss)
    assert [f.code for f in findings] == [code]
    finding = findings[0]
    assert isinstance(finding, Finding) and finding.message and finding.fix


def test_the_mistakes_really_are_mistakes(tf, keras):
    """What each trigger does in TF: wrong numbers, or an error, or a saturated loss."""
    m = mistakes(tf, keras)
    right = tf.nn.sparse_softmax_cross_entropy_with_logits(IDS, LOGITS).numpy()
    y, p, loss = m["probabilities-as-logits"]
    squashed = np.log(np.e + 3)   # softmax of values in [0, 1]: loss <= log(e + C - 1)
    assert np.all(loss(y, p).numpy() <= squashed + 1e-6) and right.max() > squashed
    y, p, loss = m["silent-broadcast"]
    assert loss(y, p).numpy().shape == (MIN_ROWS,)          # no error, [B, B] inside
    with pytest.raises(ValueError):
        tf.nn.sigmoid_cross_entropy_with_logits(y, p)        # the sigmoid op refuses
    y, p, loss = m["float16-saturation"]
    with np.errstate(divide="ignore", invalid="ignore"):   # the infinite loss is the point
        assert not np.isfinite(keras_losses.binary_crossentropy(y, p)).all()
    y, p, loss = m["label-out-of-range"]
    with pytest.raises(tf.errors.InvalidArgumentError):
        loss(y, p)


def test_a_handful_of_values_in_zero_one_is_not_evidence(tf):
    few = np.array([[0.3], [0.8]], np.float32)
    assert diagnose(np.array([[1.0], [0.0]]), few, tf.nn.sigmoid_cross_entropy_with_logits) \
        == []
    many = np.full((MIN_VALUES, 1), 0.7, np.float32)
    assert [f.code for f in diagnose(np.ones((MIN_VALUES, 1)), many,
                                     tf.nn.sigmoid_cross_entropy_with_logits)] \
        == ["probabilities-as-logits"]


def test_keras_names_and_objects_match_ranks_so_no_shape_finding(tf, keras):
    """model.compile(loss=name) and loss objects squeeze/expand (B,) vs (B, 1): nothing to say."""
    y, z = BINARY_IDS.astype(np.float32), nn.sigmoid(LOGITS[:, :1])
    for loss in ("binary_crossentropy", "BinaryCrossentropy", keras.losses.BinaryCrossentropy()):
        assert diagnose(y, z, loss) == [], loss
        assert diagnose(y[:, None], z[:, 0], loss) == [], loss
    assert np.isfinite(keras.losses.BinaryCrossentropy()(y, z).numpy())


def test_single_unit_finding_replaces_multilabel_and_output_findings(keras):
    y, z = BINARY_IDS[:, None].astype(np.float32), LOGITS[:, :1]
    for loss in ("categorical_crossentropy", keras.losses.CategoricalCrossentropy()):
        assert [f.code for f in diagnose(y, z, loss)] == ["categorical-on-single-unit"]
        # compile and loss objects expand (B,) labels to (B, 1): the same single unit
        assert [f.code for f in diagnose(y[:, 0], z, loss)] == ["categorical-on-single-unit"]


def test_ignore_class_is_not_out_of_range(keras):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    padded = np.where(np.arange(MIN_ROWS) % 3 == 0, -1, IDS)
    assert diagnose(padded, LOGITS, loss) == []


# ---------------------------------------------------------------- naming the loss
def test_loss_spec_reads_every_way_of_naming_a_loss(tf, keras):
    cases = [
        (tf.nn.sparse_softmax_cross_entropy_with_logits, "sparse", True),
        (tf.nn.weighted_cross_entropy_with_logits, "sigmoid", True),
        (tf.compat.v1.losses.softmax_cross_entropy, "softmax", True),
        (keras.losses.BinaryCrossentropy(from_logits=True), "sigmoid", True),
        (keras.losses.CategoricalFocalCrossentropy(), "softmax", False),
        (keras.losses.sparse_categorical_crossentropy, "sparse", False),
        (functools.partial(keras.losses.binary_crossentropy, from_logits=True), "sigmoid", True),
        ("BinaryCrossentropy", "sigmoid", False),
        ("tf.nn.softmax_cross_entropy_with_logits", "softmax", True),
        (nn.sigmoid_cross_entropy_with_logits, "sigmoid", True),
        (keras_losses.categorical_crossentropy, "softmax", False),
    ]
    for loss, family, logits in cases:
        spec = loss_spec(loss)
        assert (spec.family, spec.expects_logits) == (family, logits), loss


def test_unknown_losses_are_refused(keras):
    with pytest.raises(ValueError, match="cross-entropy losses"):
        diagnose([1.0], [0.5], keras.losses.MeanSquaredError())
