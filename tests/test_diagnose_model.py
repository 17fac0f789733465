"""diagnose_model: silent on correct models, and every code shown by running its mistake in Keras.

Each ``test_<code>_symptom`` builds the faulty model, checks that ``diagnose_model`` reports the
code, then runs the mistake in Keras (``fit`` / ``evaluate`` / ``predict``) and asserts the
symptom the finding's message describes. Expected values come from Keras itself or from the
formula in NumPy, never from ``course_lib``.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import numpy as np
import pytest

from course_lib import diagnose_model
from course_lib.diagnose_model import CODES

B, F, C, T = 16, 4, 3, 5     # batch, features, classes, time steps
CLASS_WEIGHTS = np.array([1.0, 4.0, 9.0], dtype=np.float32)
CLIP = float(-np.log(np.float32(1) - np.float32(1 - 1e-7)))   # Keras's cap, -log(1.19e-7)


@pytest.fixture(scope="module")
def keras():
    from course_lib.tf_setup import import_keras

    return import_keras()


def dense_model(keras, units, activation, loss, metrics=None, dtype=None, scale=1.0):
    """Input(F) → Dense(units, activation), compiled with SGD; seeded, weights scaled."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((F,)),
                              keras.layers.Dense(units, activation=activation, dtype=dtype)])
    model.layers[-1].kernel.assign(model.layers[-1].kernel * scale)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, metrics=metrics)
    return model


def sequence_model(keras, loss, steps=T, classes=C):
    """Token ids (B, steps) → Embedding → Dense(classes) logits per position."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((steps,), dtype="int32"),
                              keras.layers.Embedding(10, 4), keras.layers.Dense(classes)])
    model.layers[-1].kernel.assign(model.layers[-1].kernel * 10.0)   # losses that differ
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    return model


def features(scale=1.0, n=B):
    return (scale * np.random.default_rng(1).standard_normal((n, F))).astype(np.float32)


def pre_activations(model, x):
    """The last Dense layer's input to its activation, x·W + b, in float32."""
    kernel, bias = model.layers[-1].get_weights()
    return (x @ kernel.astype(np.float32) + bias.astype(np.float32)).astype(np.float32)


def one_hot(ids, classes=C):
    return np.eye(classes, dtype=np.float32)[ids]


def codes(model, **kwargs):
    return [f.code for f in diagnose_model(model, **kwargs)]


def finding(model, code, **kwargs):
    (found,) = [f for f in diagnose_model(model, **kwargs) if f.code == code]
    return found


def caught(run):
    """Run ``run()`` and return (its result, the messages of every warning it emitted)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = run()
    return result, [str(w.message) for w in record]


def evaluate(model, x, y, **kwargs):
    return float(model.evaluate(x, y, verbose=0, **kwargs))


# ---------------------------------------------------------------- no false positives
def _correct_models(keras):
    """(name, build) for models compiled the way the lessons recommend; build → (model, kw)."""
    L, losses, metrics = keras.layers, keras.losses, keras.metrics
    rng = np.random.default_rng(2)
    ids = rng.integers(0, C, B)
    multi_hot = (rng.random((B, C)) < 0.4).astype(np.float32)
    binary = (rng.random((B, 1)) < 0.5).astype(np.float32)
    seq_ids = rng.integers(0, C, (B, T))

    def mixed(head):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((F,)), *head])
        model.compile(optimizer="sgd", loss=losses.CategoricalCrossentropy(),
                      metrics=["accuracy"])
        return model, {"y": one_hot(ids)}

    def functional():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((F,))
        hidden = L.Dense(8, activation="relu")(inputs)
        model = keras.Model(inputs, L.Dense(C, activation="softmax")(hidden))
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
        return model, {"y": one_hot(ids)}

    def softmax_layer():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((F,)), L.Dense(C), L.Softmax()])
        model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(),
                      metrics=["accuracy"])
        return model, {"y": ids}

    def seq(weights):
        model = sequence_model(keras, losses.SparseCategoricalCrossentropy(from_logits=True))
        model.compile(optimizer="sgd", loss=model.loss, metrics=["accuracy"])
        return model, {"y": seq_ids, "sample_weight": weights}

    return [
        ("logits + from_logits=True", lambda: (dense_model(
            keras, C, None, losses.CategoricalCrossentropy(from_logits=True), ["accuracy"]),
            {"y": one_hot(ids)})),
        ("softmax + CategoricalCrossentropy()", lambda: (dense_model(
            keras, C, "softmax", losses.CategoricalCrossentropy(), ["accuracy"]),
            {"y": one_hot(ids), "class_weight": dict(enumerate(CLASS_WEIGHTS))})),
        ("softmax + sparse name, [B] ids, class_weight", lambda: (dense_model(
            keras, C, "softmax", "sparse_categorical_crossentropy", ["acc"]),
            {"y": ids, "class_weight": dict(enumerate(CLASS_WEIGHTS))})),
        ("softmax + sparse, [B, 1] ids, class_weight", lambda: (dense_model(
            keras, C, "softmax", losses.SparseCategoricalCrossentropy(), ["accuracy"]),
            {"y": ids[:, None], "class_weight": dict(enumerate(CLASS_WEIGHTS))})),
        ("sigmoid multi-label + BCE + BinaryAccuracy()", lambda: (dense_model(
            keras, C, "sigmoid", losses.BinaryCrossentropy(), [metrics.BinaryAccuracy()]),
            {"y": multi_hot})),
        ("multi-label logits + BCE(from_logits) + binary_accuracy(0.0)", lambda: (dense_model(
            keras, C, None, losses.BinaryCrossentropy(from_logits=True),
            [metrics.BinaryAccuracy(threshold=0.0)]), {"y": multi_hot})),
        ("Dense(1) logits + BCE(from_logits) + BinaryAccuracy(0.0)", lambda: (dense_model(
            keras, 1, None, losses.BinaryCrossentropy(from_logits=True),
            [metrics.BinaryAccuracy(threshold=0.0)]), {"y": binary})),
        ("Dense(1, sigmoid) + 'binary_crossentropy' + accuracy", lambda: (dense_model(
            keras, 1, "sigmoid", "binary_crossentropy", ["accuracy"]), {"y": binary})),
        ("Dense(1, sigmoid) + 'crossentropy'", lambda: (dense_model(
            keras, 1, "sigmoid", "crossentropy", ["accuracy"]), {"y": binary})),
        ("functional softmax head", functional),
        ("Dense + Softmax layer + sparse", softmax_layer),
        ("sequence + per-position sample_weight", lambda: seq(
            CLASS_WEIGHTS[seq_ids])),
        ("sequence + [B, 1] sample_weight", lambda: seq(np.ones((B, 1), np.float32))),
        ("mixed precision, float32 softmax layer", lambda: mixed(
            [L.Dense(8, activation="relu", dtype="mixed_float16"),
             L.Dense(C, activation="softmax", dtype="float32")])),
        ("mixed precision, float32 Activation", lambda: mixed(
            [L.Dense(C, dtype="mixed_float16"), L.Activation("softmax", dtype="float32")])),
        ("sigmoid + BinaryFocalCrossentropy()", lambda: (dense_model(
            keras, C, "sigmoid", losses.BinaryFocalCrossentropy(),
            [metrics.BinaryAccuracy()]), {"y": multi_hot})),
        ("logits + CategoricalFocalCrossentropy(from_logits=True)", lambda: (dense_model(
            keras, C, None, losses.CategoricalFocalCrossentropy(from_logits=True),
            ["accuracy"]), {"y": one_hot(ids)})),
        ("mixed precision float16 logits + from_logits=True", lambda: (dense_model(
            keras, C, None, losses.CategoricalCrossentropy(from_logits=True), ["accuracy"],
            dtype="mixed_float16"), {"y": one_hot(ids)})),
    ]


CORRECT = [
    "logits + from_logits=True", "softmax + CategoricalCrossentropy()",
    "softmax + sparse name, [B] ids, class_weight", "softmax + sparse, [B, 1] ids, class_weight",
    "sigmoid multi-label + BCE + BinaryAccuracy()",
    "multi-label logits + BCE(from_logits) + binary_accuracy(0.0)",
    "Dense(1) logits + BCE(from_logits) + BinaryAccuracy(0.0)",
    "Dense(1, sigmoid) + 'binary_crossentropy' + accuracy", "Dense(1, sigmoid) + 'crossentropy'",
    "functional softmax head", "Dense + Softmax layer + sparse",
    "sequence + per-position sample_weight", "sequence + [B, 1] sample_weight",
    "mixed precision, float32 softmax layer", "mixed precision, float32 Activation",
    "sigmoid + BinaryFocalCrossentropy()",
    "logits + CategoricalFocalCrossentropy(from_logits=True)",
    "mixed precision float16 logits + from_logits=True",
]


@pytest.mark.parametrize("name", CORRECT)
def test_correct_models_give_no_finding_and_train_without_warnings(keras, name):
    build = dict(_correct_models(keras))[name]
    model, kwargs = build()
    assert diagnose_model(model, **kwargs) == []
    x = (np.random.default_rng(3).integers(0, 10, (B, T)) if "sequence" in name
         else features())
    _, messages = caught(lambda: model.fit(x, verbose=0, epochs=1, **kwargs))
    assert not [m for m in messages if "from_logits" in m or "size 1" in m
                or "num_classes" in m], messages


def test_the_correct_model_list_is_complete(keras):
    assert [name for name, _ in _correct_models(keras)] == CORRECT


# ---------------------------------------------------------------- one symptom per code
@pytest.mark.parametrize("loss", ["CategoricalCrossentropy", "BinaryCrossentropy"])
def test_single_unit_softmax_symptom(keras, loss):
    x = features(scale=3.0)
    model = dense_model(keras, 1, "softmax", getattr(keras.losses, loss)())
    found = finding(model, "single-unit-softmax")
    assert 'Dense(1, activation="softmax")' in found.message
    labels = (np.random.default_rng(4).random((B, 1)) < 0.5).astype(np.float32)
    (prediction, _), messages = caught(lambda: (model.predict(x, verbose=0), 0))
    assert np.all(prediction == 1.0)                       # predict() is 1 for every input
    assert any("This axis has size 1" in m for m in messages)
    if loss == "CategoricalCrossentropy":
        # The loss does not depend on the labels: exactly 0 for all-ones, all-zeros, random.
        for y in (np.ones((B, 1)), np.zeros((B, 1)), labels):
            assert evaluate(model, x, y) == 0.0
        before = model.layers[-1].get_weights()[0].copy()
        model.fit(x, np.zeros((B, 1)), epochs=1, batch_size=B, verbose=0)
        moved = np.abs(model.layers[-1].get_weights()[0] - before).max()
        assert moved > 1e-3                                 # gradient 1 - y moves the weights
        assert np.all(model.predict(x, verbose=0) == 1.0)   # ... but the output stays 1
    else:
        # fit/evaluate train a sigmoid of the pre-activation, which predict() never shows.
        z = pre_activations(model, x)
        sigmoid_ce = float(keras.losses.BinaryCrossentropy(from_logits=True)(labels, z))
        assert evaluate(model, x, labels) == pytest.approx(sigmoid_ce, rel=1e-5)
        assert "sigmoid classifier" in found.message


@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_categorical_on_single_unit_symptom(keras, activation):
    x = features(scale=3.0)
    model = dense_model(keras, 1, activation, "categorical_crossentropy")
    assert "categorical-on-single-unit" in codes(model)
    assert f'Dense(1, activation="{activation}")' in finding(
        model, "categorical-on-single-unit").message
    labels = (np.random.default_rng(4).random((B, 1)) < 0.5).astype(np.float32)
    ys = (np.ones((B, 1)), np.zeros((B, 1)), labels)
    losses, messages = caught(lambda: [evaluate(model, x, y) for y in ys])
    assert any("num_classes > 1" in m for m in messages)

    def moved(y):
        trial = dense_model(keras, 1, activation, "categorical_crossentropy")
        before = trial.get_weights()
        trial.fit(x, y, epochs=1, batch_size=B, verbose=0)
        return max(np.abs(a - b).max() for a, b in zip(before, trial.get_weights(),
                                                       strict=True))

    if activation == "sigmoid":   # softmax CE of one hidden logit: 0, gradient 1 - y
        assert losses == [0.0, 0.0, 0.0]                   # exactly 0, whatever the labels
        assert moved(np.ones((B, 1))) == 0.0               # label 1: zero gradient
        assert moved(np.zeros((B, 1))) > 1e-3              # label 0: pushed down
    else:                         # z / z = 1, clipped to 1 - 1e-7: a constant, no gradient
        assert max(losses) <= 1.2e-7 and losses[1] == 0.0
        assert moved(labels) == 0.0


@pytest.mark.parametrize("variant", ["softmax", "sigmoid", "float16 softmax", "tf.nn op",
                                     "tf.nn sigmoid op"])
def test_softmax_output_with_from_logits_symptom(keras, tf, variant):
    x = features(scale=2.0)
    ids = np.random.default_rng(5).integers(0, C, B)
    act = "sigmoid" if "sigmoid" in variant else "softmax"
    if act == "sigmoid":
        y = (np.random.default_rng(5).random((B, C)) < 0.4).astype(np.float32)
        wrong, right = (keras.losses.BinaryCrossentropy(from_logits=True),
                        keras.losses.BinaryCrossentropy())
    else:
        y = one_hot(ids)
        wrong, right = (keras.losses.CategoricalCrossentropy(from_logits=True),
                        keras.losses.CategoricalCrossentropy())
    if variant == "tf.nn op":
        wrong = tf.nn.softmax_cross_entropy_with_logits
    if variant == "tf.nn sigmoid op":
        wrong, right = (tf.nn.sigmoid_cross_entropy_with_logits,
                        keras.losses.BinaryCrossentropy())
    dtype = "mixed_float16" if variant == "float16 softmax" else None
    model = dense_model(keras, C, act, wrong, dtype=dtype)
    found = finding(model, "softmax-output-with-from-logits")
    assert f'activation="{act}"' in found.message and type(right).__name__ in found.fix
    z = pre_activations(model, x)
    correct = float(type(right)(from_logits=True)(y, z))
    seen, messages = caught(lambda: evaluate(model, x, y))
    on_predict = float(type(right)(from_logits=True)(
        y, model.predict(x, verbose=0).astype(np.float32)))
    warned = any("received `from_logits=True`" in m for m in messages)
    assert abs(on_predict - correct) > 0.05                # a loss on predict(): double act
    if variant in ("softmax", "sigmoid"):
        assert seen == pytest.approx(correct, rel=1e-5)    # fit/evaluate are right ...
        assert warned                                      # ... and Keras warns
        assert "training is right" in found.message
    else:                                                  # no hidden logits: double act
        assert seen == pytest.approx(on_predict, rel=1e-3)
        assert not warned
        assert "twice" in found.message and "no warning" in found.message


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_logits_output_without_from_logits_symptom(keras, loss):
    x = features(scale=50.0)
    rng = np.random.default_rng(6)
    if loss == "binary_crossentropy":
        model = dense_model(keras, 1, None, loss)
        y = (rng.random((B, 1)) < 0.5).astype(np.float32)
        z = pre_activations(model, x)
        p = np.clip(z, 1e-7, 1 - 1e-7)
        expected = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
        right = keras.losses.BinaryCrossentropy(from_logits=True)
    elif loss == "categorical_crossentropy":     # divide by the row sum, then clip
        model = dense_model(keras, C, None, loss)
        y = one_hot(rng.integers(0, C, B))
        z = pre_activations(model, x)
        p = np.clip(z / z.sum(axis=-1, keepdims=True), 1e-7, 1 - 1e-7)
        expected = float(np.mean(-np.sum(y * np.log(p), axis=-1)))
        right = keras.losses.CategoricalCrossentropy(from_logits=True)
    else:                                        # clip, then divide by the row sum
        model = dense_model(keras, C, None, loss)
        y = rng.integers(0, C, B)
        z = pre_activations(model, x)
        p = np.clip(z, 1e-7, 1 - 1e-7)
        p = p / p.sum(axis=-1, keepdims=True)
        expected = float(np.mean(-np.log(p[np.arange(B), y])))
        right = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    found = finding(model, "logits-output-without-from-logits")
    assert "from_logits=False" in found.message and "from_logits=True" in found.fix
    seen = evaluate(model, x, y)
    assert seen == pytest.approx(expected, rel=1e-4)       # logits read as probabilities
    assert abs(seen - float(right(y, z))) > 1.0
    if loss == "binary_crossentropy":
        # Every logit lies outside [1e-7, 1 - 1e-7]: the clip bites, the gradient is zero.
        assert np.all((z < 1e-7) | (z > 1 - 1e-7))
        before = model.get_weights()
        model.fit(x, y, epochs=1, batch_size=B, verbose=0)
        for old, new in zip(before, model.get_weights(), strict=True):
            np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("loss", ["CategoricalCrossentropy", "SparseCategoricalCrossentropy"])
def test_sigmoid_output_with_categorical_loss_symptom(keras, loss):
    x = features(scale=2.0)
    ids = np.random.default_rng(7).integers(0, C, B)
    y = ids if loss.startswith("Sparse") else one_hot(ids)
    cls = getattr(keras.losses, loss)
    model = dense_model(keras, C, "sigmoid", cls())
    assert codes(model) == ["sigmoid-output-with-categorical-loss"]
    z = pre_activations(model, x)
    softmax_ce = float(cls(from_logits=True)(y, z))
    assert evaluate(model, x, y) == pytest.approx(softmax_ce, rel=1e-5)   # fit: a softmax
    prediction = model.predict(x, verbose=0)
    np.testing.assert_allclose(prediction, 1 / (1 + np.exp(-z)), rtol=1e-5, atol=1e-6)
    assert np.abs(prediction.sum(axis=-1) - 1).max() > 0.1                # rows ≠ 1
    on_predict = float(cls()(y, prediction))
    assert abs(on_predict - softmax_ce) > 0.05


def test_softmax_output_with_binary_loss_symptom(keras):
    x = features(scale=2.0)
    y = (np.random.default_rng(8).random((B, C)) < 0.4).astype(np.float32)
    model = dense_model(keras, C, "softmax", keras.losses.BinaryCrossentropy())
    assert codes(model) == ["softmax-output-with-binary-loss"]
    z = pre_activations(model, x)
    sigmoid_ce = float(keras.losses.BinaryCrossentropy(from_logits=True)(y, z))
    assert evaluate(model, x, y) == pytest.approx(sigmoid_ce, rel=1e-5)   # fit: sigmoids
    prediction = model.predict(x, verbose=0)
    np.testing.assert_allclose(prediction.sum(axis=-1), 1, rtol=1e-5)     # softmax rows
    on_predict = float(keras.losses.BinaryCrossentropy()(y, prediction))
    assert abs(on_predict - sigmoid_ce) > 0.05


@pytest.mark.parametrize("case", ["multi-label accuracy", "one logit accuracy",
                                  "BinaryAccuracy() on logits", "threshold 0 on sigmoid"])
def test_accuracy_metric_mismatch_symptom(keras, case):
    rng = np.random.default_rng(9)
    metrics = keras.metrics
    if case == "multi-label accuracy":
        x, y = features(scale=2.0), (rng.random((B, C)) < 0.4).astype(np.float32)
        model = dense_model(keras, C, "sigmoid", keras.losses.BinaryCrossentropy(),
                            ["accuracy"])
        p = 1 / (1 + np.exp(-pre_activations(model, x)))
        keras_picks = np.mean(np.argmax(p, -1) == np.argmax(y, -1))     # CategoricalAccuracy
        meant = np.mean((p > 0.5) == y)                                 # per-label accuracy
    elif case == "threshold 0 on sigmoid":
        x, y = features(scale=2.0), (rng.random((B, 1)) < 0.5).astype(np.float32)
        model = dense_model(keras, 1, "sigmoid", "binary_crossentropy",
                            [metrics.BinaryAccuracy(threshold=0.0)])
        p = 1 / (1 + np.exp(-pre_activations(model, x)))
        keras_picks = np.mean(y == 1)                        # every prediction is positive
        meant = np.mean((p > 0.5) == y)
    else:
        x = features(scale=0.3)
        metric = "accuracy" if case == "one logit accuracy" else metrics.BinaryAccuracy()
        model = dense_model(keras, 1, None, keras.losses.BinaryCrossentropy(from_logits=True),
                            [metric])
        z = pre_activations(model, x)
        y = (z > 0).astype(np.float32)                       # labels this model gets all right
        assert np.any((z > 0) & (z <= 0.5))                 # logits the two thresholds split
        keras_picks = np.mean((z > 0.5) == y)                # threshold 0.5 on logits: < 1
        meant = 1.0
    assert "accuracy-metric-mismatch" in codes(model)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    reported = [v for k, v in result.items() if k != "loss"]
    assert reported == [pytest.approx(keras_picks)]
    assert abs(keras_picks - meant) > 0.05


def test_class_weight_on_sequence_targets_symptom(keras, tf):
    tokens = np.random.default_rng(10).integers(0, 10, (8, T))
    ids = np.random.default_rng(11).integers(0, C, (8, T))
    class_weight = dict(enumerate(CLASS_WEIGHTS.tolist()))
    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = sequence_model(keras, sparse)
    assert codes(model, y=ids, class_weight=class_weight) == [
        "class-weight-on-sequence-targets"]
    # [B, T] ids, batch size != T: one weight per example meets per-position losses.
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        model.fit(tokens, ids, class_weight=class_weight, batch_size=4, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        sequence_model(keras, sparse).fit(tokens, ids, class_weight=class_weight, verbose=0)
    # [B, T, C] one-hot: the argmax of the last axis is (B, T), not one id → TypeError.
    dense = sequence_model(keras, keras.losses.CategoricalCrossentropy(from_logits=True))
    assert "y.argmax(-1)" in finding(dense, "class-weight-on-sequence-targets",
                                     y=one_hot(ids), class_weight=class_weight).fix
    with pytest.raises(TypeError, match="0-dimensional"):
        dense.fit(tokens, one_hot(ids), class_weight=class_weight, batch_size=4, verbose=0)
    # [B, H, W] ids (a segmentation): the same argmax leaves (B, H) per batch → TypeError.
    keras.utils.set_random_seed(0)
    pixels = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Dense(C)])
    pixels.compile(optimizer="sgd", loss=sparse)
    masks = np.random.default_rng(12).integers(0, C, (8, 4, 4))
    found = finding(pixels, "class-weight-on-sequence-targets", y=masks,
                    class_weight=class_weight)
    assert "(8, 4, 4)" in found.message and "class_weights[y]" in found.fix
    with pytest.raises(TypeError, match="0-dimensional"):
        pixels.fit(np.zeros((8, 4, 4, 1), np.float32), masks, class_weight=class_weight,
                   verbose=0)
    # The fix: per-position sample weights, shape (B, T); evaluate divides by B·T.
    model = sequence_model(keras, sparse)
    weights = CLASS_WEIGHTS[ids]
    assert diagnose_model(model, y=ids, sample_weight=weights) == []
    model.fit(tokens, ids, sample_weight=weights, batch_size=4, verbose=0)
    per_position = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(
        ids, model.predict(tokens, verbose=0)).numpy()
    expected = float(np.mean(per_position * weights))
    assert evaluate(model, tokens, ids, sample_weight=weights) == pytest.approx(expected,
                                                                                rel=1e-5)


def test_class_weight_on_square_sequence_targets_is_silently_wrong(keras):
    """T == B: no error, but the weights land on positions, not on examples or classes."""
    n = T
    tokens = np.random.default_rng(12).integers(0, 10, (n, n))
    ids = np.random.default_rng(13).integers(0, C, (n, n))
    class_weight = dict(enumerate(CLASS_WEIGHTS.tolist()))
    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    found = finding(sequence_model(keras, sparse, steps=n), "class-weight-on-sequence-targets",
                    y=ids, class_weight=class_weight)
    assert f"exactly {n} examples it silently" in found.message

    def trained(**kwargs):
        model = sequence_model(keras, sparse, steps=n)
        model.fit(tokens, ids, batch_size=n, epochs=1, shuffle=False, verbose=0, **kwargs)
        return model.get_weights()

    per_example = CLASS_WEIGHTS[np.argmax(ids, axis=-1)]     # Keras: argmax of the time axis
    keras_did = trained(class_weight=class_weight)
    on_positions = trained(sample_weight=np.tile(per_example, (n, 1)))
    meant = trained(sample_weight=CLASS_WEIGHTS[ids])
    for got, same in zip(keras_did, on_positions, strict=True):
        np.testing.assert_allclose(got, same, rtol=1e-5, atol=1e-7)
    assert max(np.abs(a - b).max() for a, b in zip(keras_did, meant, strict=True)) > 1e-4


def test_sample_weight_rank_symptom(keras, tf):
    tokens = np.random.default_rng(14).integers(0, 10, (8, T))
    ids = np.random.default_rng(15).integers(0, C, (8, T))
    w = np.linspace(0.5, 2.0, 8).astype(np.float32)
    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = sequence_model(keras, sparse)
    assert codes(model, y=ids, sample_weight=w) == ["sample-weight-rank"]
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        model.fit(tokens, ids, sample_weight=w, batch_size=4, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        sequence_model(keras, sparse).evaluate(tokens, ids, sample_weight=w, verbose=0)
    # T == B: no error, and the weights multiply positions instead of examples.
    n = T
    square = sequence_model(keras, sparse, steps=n)
    tok, lab, wn = tokens[:n, :n], ids[:n, :n], w[:n]
    assert f"exactly {n} examples it silently" in finding(
        square, "sample-weight-rank", y=lab, sample_weight=wn).message
    losses = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(
        lab, square.predict(tok, verbose=0)).numpy()
    seen = evaluate(square, tok, lab, sample_weight=wn)
    assert seen == pytest.approx(float(np.mean(losses * wn[None, :])), rel=1e-5)
    assert abs(seen - float(np.mean(losses * wn[:, None]))) > 1e-3
    # The fix in the finding: one weight per position.
    fixed = np.repeat(wn[:, None], n, axis=1)
    assert diagnose_model(square, y=lab, sample_weight=fixed) == []
    fresh = sequence_model(keras, sparse, steps=n)      # same seed, same weights, new trace
    assert evaluate(fresh, tok, lab, sample_weight=fixed) == pytest.approx(
        float(np.mean(losses * wn[:, None])), rel=1e-5)


def test_float16_softmax_output_takes_the_clipped_probability_path(keras):
    x = features(scale=8.0)
    y = one_hot(np.random.default_rng(17).integers(0, C, B))
    half = dense_model(keras, C, "softmax", "categorical_crossentropy", dtype="mixed_float16")
    assert codes(half) == ["float16-probability-output"]
    assert "1 - 2**-11" in finding(half, "float16-probability-output").message
    assert np.nextafter(np.float16(1), np.float16(0)) == 1 - 2.0**-11
    z = pre_activations(half, x)
    right = float(keras.losses.CategoricalCrossentropy(from_logits=True)(y, z))
    seen, messages = caught(lambda: evaluate(half, x, y))
    assert abs(seen - right) > 0.1 and not messages                 # wrong, no warning
    prediction = half.predict(x, verbose=0).astype(np.float32)
    p = np.clip(prediction / prediction.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
    assert seen == pytest.approx(float(np.mean(-np.sum(y * np.log(p), -1))), rel=1e-3)


def test_float16_probability_output_symptom(keras, tf):
    x = features(scale=4.0)
    y = (np.random.default_rng(16).random((B, 1)) < 0.5).astype(np.float32)
    half = dense_model(keras, 1, "sigmoid", "binary_crossentropy", dtype="mixed_float16")
    assert codes(half) == ["float16-probability-output"]
    full = dense_model(keras, 1, "sigmoid", "binary_crossentropy", dtype="float32")
    full.set_weights(half.get_weights())
    assert diagnose_model(full) == []
    z = pre_activations(full, x)
    right = float(keras.losses.BinaryCrossentropy(from_logits=True)(y, z))
    seen, messages = caught(lambda: evaluate(half, x, y))
    assert evaluate(full, x, y) == pytest.approx(right, rel=1e-5)   # float32 output: right
    assert abs(seen - right) > 0.1                                  # float16 output: wrong
    assert not messages                                             # ... with no warning
    # What it computed: the probability path on float16-rounded, clipped probabilities.
    p = np.clip(half.predict(x, verbose=0).astype(np.float32), 1e-7, 1 - 1e-7)
    clipped = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    assert seen == pytest.approx(clipped, rel=1e-3)
    assert float(np.max(np.where(y == 0, -np.log(1 - p), 0))) == pytest.approx(CLIP, rel=1e-3)
    # A float16 sigmoid rounds to 1.0 above about 8.3 (every float16 input above 8.32).
    above = np.unique(np.linspace(8.32, 30, 4000).astype(np.float16))
    assert np.all(tf.math.sigmoid(tf.constant(above[above > 8.32])).numpy() == 1)
    assert tf.math.sigmoid(tf.constant(np.float16(8.305))).numpy() < 1
    # Where the clip bites (a saturated, wrong prediction), the gradient is zero.
    sure = np.argmax(z[:, 0] * (y[:, 0] == 0))
    assert z[sure, 0] > 9
    before = half.get_weights()
    half.fit(x[sure:sure + 1], y[sure:sure + 1], epochs=1, verbose=0)
    for old, new in zip(before, half.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


# ---------------------------------------------------------------- API
def test_every_code_has_a_symptom_test():
    names = set(globals())
    assert [c for c in CODES if f"test_{c.replace('-', '_')}_symptom" not in names] == []


def test_findings_come_in_codes_order(keras):
    model = dense_model(keras, 1, "softmax", "categorical_crossentropy", ["accuracy"],
                        dtype="mixed_float16")
    found = codes(model)
    assert found == ["single-unit-softmax", "categorical-on-single-unit",
                     "float16-probability-output"]
    assert found == sorted(found, key=CODES.index)


@pytest.mark.parametrize(("activation", "how", "expected"), [
    (None, "function", "logits-output-without-from-logits"),
    (None, "name CategoricalCrossentropy", "logits-output-without-from-logits"),
    ("softmax", "partial from_logits=True", "softmax-output-with-from-logits"),
    ("softmax", "name bce", "softmax-output-with-binary-loss"),
    ("softmax", "custom function", None),
])
def test_the_loss_is_read_from_objects_names_and_functions(keras, activation, how, expected):
    loss = {"function": keras.losses.categorical_crossentropy,
            "name CategoricalCrossentropy": "CategoricalCrossentropy",
            "partial from_logits=True": functools.partial(
                keras.losses.categorical_crossentropy, from_logits=True),
            "name bce": "bce",
            "custom function": lambda y_true, y_pred: keras.ops.mean((y_true - y_pred) ** 2),
            }[how]
    model = dense_model(keras, C, activation, loss)
    assert codes(model) == ([expected] if expected else [])


def test_metrics_are_read_when_keras_cannot_serialize_the_compile_arguments(keras):
    partial = functools.partial(keras.losses.binary_crossentropy, from_logits=True)
    for metric in (keras.metrics.BinaryAccuracy(), keras.metrics.binary_accuracy):
        model = dense_model(keras, 1, None, partial, [metric])
        with pytest.raises(TypeError):
            model.get_compile_config()
        assert codes(model) == ["accuracy-metric-mismatch"]


def test_a_model_built_without_input_is_read_from_its_layers(keras):
    model = keras.Sequential([keras.layers.Dense(1, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert codes(model) == ["single-unit-softmax", "categorical-on-single-unit"]


def test_uncompiled_model_raises(keras):
    model = keras.Sequential([keras.Input((F,)), keras.layers.Dense(C, activation="softmax")])
    with pytest.raises(ValueError, match=r"compiled.*model\.compile\("):
        diagnose_model(model)
    with pytest.raises(ValueError, match="model must be a Keras model; got str"):
        diagnose_model("model")


def test_bad_class_weight_raises(keras):
    model = dense_model(keras, C, "softmax", "categorical_crossentropy")
    with pytest.raises(ValueError, match="class_weight must be a dict"):
        diagnose_model(model, class_weight=[1.0, 2.0, 3.0])


def test_importing_course_lib_does_not_import_keras():
    code = ("import sys, course_lib, course_lib.diagnose_model; "
            "from course_lib import diagnose_model; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
