"""The rule: every piece of advice course_lib gives is executed.

``ADVICE`` maps every ``diagnose`` code, every ``diagnose_model`` code and every sentence of
every ``why``/``avoid`` text ``choose_loss`` can return (over its whole argument grid) to the
test, by pytest node id, that runs the mistake in TensorFlow/Keras and asserts the symptom.
A new code or sentence without an entry, an entry nobody needs any more, or an entry naming a
test function that does not exist fails the first four tests. The symptom tests for the
chooser's sentences and the ``diagnose`` codes follow the table; ``diagnose_model``'s are in
tests/test_diagnose_model.py.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import itertools
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import course_lib
from course_lib import choose_loss, chooser, diagnose
from course_lib.diagnose import CODES

ROOT = Path(__file__).parent.parent
HERE = "tests/test_advice.py::"
MODEL = "tests/test_diagnose_model.py::"
CLIP_CAP = -np.log(1e-7)          # 16.118: no clipped term exceeds it

ADVICE = {
    # ------------------------------------------------------------------ diagnose codes
    "diagnose:probabilities-as-logits": HERE + "test_probabilities_as_logits_squash_the_loss",
    "diagnose:logits-as-probabilities": HERE + "test_logits_into_keras_default_are_clipped",
    "diagnose:double-softmax": HERE + "test_double_softmax_predicts_near_uniform",
    "diagnose:one-hot-into-sparse": HERE + "test_one_hot_rows_into_sparse_losses_raise",
    "diagnose:int-labels-into-dense": HERE + "test_class_ids_into_dense_losses_raise_or_are_wrong",
    "diagnose:softmax-on-multilabel": HERE + "test_softmax_on_multi_hot_caps_each_tag_at_half",
    "diagnose:categorical-on-single-unit":
        HERE + "test_categorical_on_one_unit_is_zero_while_weights_move",
    "diagnose:label-out-of-range": HERE + "test_out_of_range_labels_raise_or_are_nan_under_xla",
    "diagnose:silent-broadcast": HERE + "test_broadcasting_losses_return_a_wrong_number_silently",
    "diagnose:rank-mismatch": HERE + "test_rank_mismatch_quotes_the_error_tf_raises",
    "diagnose:float16-saturation": HERE + "test_float16_probabilities_saturate",
    # ------------------------------------------------------------ diagnose_model codes
    **{f"diagnose_model:{code}": f"{MODEL}test_{code.replace('-', '_')}_symptom"
       for code in ("single-unit-softmax", "categorical-on-single-unit",
                    "softmax-output-with-from-logits", "logits-output-without-from-logits",
                    "sigmoid-output-with-categorical-loss", "softmax-output-with-binary-loss",
                    "accuracy-metric-mismatch", "class-weight-on-sequence-targets",
                    "sample-weight-rank", "float16-probability-output")},
    # ------------------------------------------------ choose_loss: why / avoid sentences
    "Exclusive classes with class-id labels: the sparse op takes int labels [B] (any rank, "
    "classes last) and never builds the [B, C] one-hot matrix; it equals the dense op on "
    "one-hot rows, with the gradient softmax - onehot.":
        HERE + "test_sparse_op_takes_any_rank_and_equals_the_dense_op",
    "Exclusive classes with label rows [B, C] (one-hot or probabilities summing to 1): the "
    "dense softmax op, loss = -Σ_j y_j log softmax(z)_j, fused and stable.":
        HERE + "test_dense_softmax_op_is_the_formula_and_stable",
    "Two exclusive classes are one binary problem: one logit per example (Dense(1)), sigmoid "
    "CE, which equals a two-class softmax with logits [z, 0]. y and z must have the same "
    "shape [B, 1]; tf.nn's sigmoid op does not cast int labels.":
        HERE + "test_binary_is_a_two_class_softmax",
    "Independent classes (multi-label): each of the C outputs is its own binary problem, so "
    "sigmoid CE per entry [B, C]; Keras averages the C entries of an example, tf.nn returns "
    "them all.": HERE + "test_multi_label_sigmoid_ce_is_per_entry",
    "keras.losses.SparseCategoricalCrossentropy() without from_logits=True: Keras' default "
    "expects probabilities, so it clips your logits into [1e-7, 1 - 1e-7] and returns a wrong "
    "loss with no error (diagnose: logits-as-probabilities).":
        HERE + "test_logits_into_keras_default_are_clipped",
    "keras.losses.CategoricalCrossentropy() without from_logits=True: Keras' default expects "
    "probabilities, so it clips your logits into [1e-7, 1 - 1e-7] and returns a wrong loss "
    "with no error (diagnose: logits-as-probabilities).":
        HERE + "test_logits_into_keras_default_are_clipped",
    "keras.losses.BinaryCrossentropy() without from_logits=True: Keras' default expects "
    "probabilities, so it clips your logits into [1e-7, 1 - 1e-7] and returns a wrong loss "
    "with no error (diagnose: logits-as-probabilities).":
        HERE + "test_logits_into_keras_default_are_clipped",
    "Feeding one-hot rows to it instead is an error (diagnose: one-hot-into-sparse).":
        HERE + "test_one_hot_rows_into_sparse_losses_raise",
    "Int class ids into this op are wrong (diagnose: int-labels-into-dense).":
        HERE + "test_class_ids_into_dense_losses_raise_or_are_wrong",
    "Labels [B] against logits [B, 1]: hand-written formulas broadcast them to [B, B] "
    "(diagnose: silent-broadcast).":
        HERE + "test_broadcasting_losses_return_a_wrong_number_silently",
    "Softmax CE on multi-hot rows: the classes then compete for one unit of probability, so "
    "two true tags can each get at most 1/2 (diagnose: softmax-on-multilabel).":
        HERE + "test_softmax_on_multi_hot_caps_each_tag_at_half",
    "If the soft labels come from a model being trained (distillation), wrap them in "
    "tf.stop_gradient: TF 2's op also differentiates the labels.":
        HERE + "test_dense_op_differentiates_soft_labels",
    # the probability path, once per activation
    **{sentence.format(act=act): HERE + test for act in ("softmax", "sigmoid")
       for sentence, test in (
           ("Your model ends in a {act} and TF's tf.nn ops take logits only, so this is Keras' "
            "probability path.", "test_probabilities_as_logits_squash_the_loss"),
           ("Inside fit/evaluate, on Keras's TensorFlow backend, a {act} made by Keras "
            "(Dense(..., activation='{act}'), keras.ops.{act}) or a {act} op that is the "
            "model's last op hands the loss its pre-activations, and the loss is exact.",
            "test_keras_activations_hand_fit_their_pre_activations"),
           ("The loss clips p into [1e-7, 1 - 1e-7], so a confidently wrong prediction costs "
            "at most about 16 and gets gradient 0, on predict() output, plain arrays, eager "
            "tf.nn.{act} output, a {act} followed by any other op (even tf.identity), and "
            "float16 outputs under mixed precision.", "test_probability_path_clips_outside_fit"),
           ("Better: drop the final {act}, output logits and choose again with "
            "outputs='logits'.", "test_probability_path_clips_outside_fit"),
           ("from_logits=True on these probabilities: where the loss gets real probabilities "
            "(predict() output, arrays, the clipped cases above) the {act} is applied twice "
            "and the loss is squashed into a narrow band with no error (diagnose: "
            "probabilities-as-logits).", "test_probabilities_as_logits_squash_the_loss"),
           ("On a Keras-made {act} inside fit/evaluate, Keras warns and uses the "
            "pre-activations, so fit is right.",
            "test_from_logits_true_on_a_keras_activation_warns_and_fit_is_right"))},
    "diagnose_model(model) checks a compiled model.":
        MODEL + "test_softmax_output_with_from_logits_symptom",
    # weights
    "Per-example weights multiply each example's loss; in Keras pass sample_weight=w (the "
    "loss class divides by B, not by Σw).": HERE + "test_per_example_weights_and_divisors",
    "tf.compat.v1.losses with weights= divides by the number of non-zero weights instead: "
    "the same weights give a different value.": HERE + "test_per_example_weights_and_divisors",
    "Class weights weigh each position by its class.": HERE + "test_per_position_class_weights",
    "In Keras, model.fit(..., class_weight=dict(enumerate(class_weights))) works for [B] or "
    "[B, 1] targets only: it weighs whole examples by the argmax of the target's last axis, so "
    "[B, T] ids raise a shape error (or, when T == B, are silently mis-weighted).":
        HERE + "test_per_position_class_weights",
    "For per-position labels ([B, T], [B, H, W]) pass sample_weight=class_weights[y], of the "
    "labels' shape: the default reduction divides by all positions (B·T), "
    "reduction='mean_with_sample_weight' by Σw; for padding, ignore_class=pad divides by the "
    "valid positions only.": HERE + "test_per_position_class_weights",
    "Class weights weigh each example by its class (by the expected weight for soft labels).":
        HERE + "test_keras_class_weight_takes_the_argmax_of_label_rows",
    "Keras' class_weight takes the argmax of each row instead, the same for one-hot rows, and "
    "accepts [B, C] targets only; for [B, T, C] rows pass sample_weight=y @ class_weights.":
        HERE + "test_keras_class_weight_takes_the_argmax_of_label_rows",
    "pos_weight q multiplies the positive term only: q·y·softplus(-z) + (1 - y)·softplus(z).":
        HERE + "test_pos_weight_and_its_keras_forms",
    "Keras has no pos_weight; model.fit(..., class_weight={0: 1.0, 1: pos_weight}) gives the "
    "same loss for 0/1 labels.": HERE + "test_pos_weight_and_its_keras_forms",
    "No Keras loss class takes pos_weight: compile with the function shown.":
        HERE + "test_pos_weight_and_its_keras_forms",
    "pos_weight exists on the logits path only, so the probabilities are turned back into "
    "logits (their log-odds): p of exactly 0 or 1 gives an infinite logit, one more reason to "
    "output logits.": HERE + "test_pos_weight_on_probabilities_goes_through_log_odds",
    "model.fit(..., class_weight=...) with multi-hot labels: Keras weighs each example by the "
    "class of its argmax (its first positive tag), not each tag.":
        "tests/test_chooser.py::test_keras_class_weight_takes_the_argmax_of_multi_hot_rows",
    # huge vocabularies
    "{C} exclusive classes: a full softmax needs [B, {C}] logits every step; sampled softmax "
    "scores the true class and 64 sampled ones (log-uniform: sort class ids by frequency).":
        HERE + "test_sampled_softmax_is_biased_low_and_never_builds_the_logits",
    "For training only: Keras 3 has no sampled loss, so call it in a custom train_step; "
    "evaluate with the full softmax.": HERE + "test_a_keras_train_step_trains_with_a_sampled_loss",
    "Reporting the sampled loss as the model's loss: it is biased low (fewer classes in the "
    "normaliser); evaluate with the full softmax or course_lib.nn.estimate_full_softmax_loss.":
        HERE + "test_sampled_softmax_is_biased_low_and_never_builds_the_logits",
    "Class weights weigh each example by its class.":
        HERE + "test_sampled_softmax_is_biased_low_and_never_builds_the_logits",
    "With {C} classes consider huge_num_classes=True (sampled softmax) for training.":
        HERE + "test_sampled_softmax_is_biased_low_and_never_builds_the_logits",
    "{C} independent classes: a full sigmoid CE needs [B, {C}] logits every step; NCE scores "
    "each example's K true ids (y: [B, K] class ids, the same K for every example) and 64 "
    "sampled ones, each logit minus the log of its expected count.":
        HERE + "test_nce_targets_are_one_over_num_true_and_its_value_is_not_sigmoid_ce",
    "Its target is 1/num_true for each true id, not 1, so its value (a sum of K + 64 such "
    "sigmoid terms) is not a sigmoid-CE loss.":
        HERE + "test_nce_targets_are_one_over_num_true_and_its_value_is_not_sigmoid_ce",
    "For training only: Keras 3 has no sampled loss, so call it in a custom train_step; "
    "evaluate with the full sigmoid CE.":
        HERE + "test_a_keras_train_step_trains_with_a_sampled_loss",
    "Reporting the NCE value as the model's multi-label loss: evaluate with "
    "tf.nn.sigmoid_cross_entropy_with_logits on all classes.":
        HERE + "test_nce_targets_are_one_over_num_true_and_its_value_is_not_sigmoid_ce",
}

# The grid: every answer of every question; class counts that reach every branch.
GRID_CLASSES = (1, 2, 3, 10, chooser.HUGE_MIN_CLASSES, chooser.HUGE_HINT_CLASSES, 500_000)
SENTENCE_END = re.compile(r"(?<=\.)\s+(?=[A-Z(]|tf\.|model\.|keras\.|from_logits|diagnose_model"
                          r"|pos_weight)")


def chooser_sentences() -> set[str]:
    """Every sentence of every why/avoid over the grid; class counts >= 1,000 read {C}."""
    found = set()
    for exclusive, c, labels, outputs, weighting, huge in itertools.product(
            (True, False), GRID_CLASSES, chooser.LABELS, chooser.OUTPUTS, chooser.WEIGHTINGS,
            (False, True)):
        try:
            choice = choose_loss(exclusive=exclusive, num_classes=c, labels=labels,
                                 outputs=outputs, weighting=weighting, huge_num_classes=huge)
        except ValueError:
            continue
        for text in (choice.why, choice.avoid):
            if c >= 1000:
                text = text.replace(f"{c:,}", "{C}")
            found.update(SENTENCE_END.split(text))
    return found


def test_every_diagnose_code_has_a_symptom_test():
    assert sorted(c for c in CODES if f"diagnose:{c}" not in ADVICE) == []


def test_every_diagnose_model_code_has_a_symptom_test():
    diagnose_model = importlib.import_module("course_lib.diagnose_model")   # read lazily
    assert sorted(c for c in diagnose_model.CODES if f"diagnose_model:{c}" not in ADVICE) == []
    assert {k.split(":", 1)[1] for k in ADVICE if k.startswith("diagnose_model:")} \
        == set(diagnose_model.CODES)


def test_every_chooser_sentence_has_a_symptom_test():
    sentences = chooser_sentences()
    assert len(sentences) > 30
    assert sorted(s for s in sentences if s not in ADVICE) == []
    stale = {k for k in ADVICE if not k.startswith(("diagnose:", "diagnose_model:"))}
    assert sorted(stale - sentences) == []          # no entry for advice nobody gives


@functools.cache
def functions_in(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


def test_every_entry_names_an_existing_test_function():
    missing = []
    for node_id in sorted(set(ADVICE.values())):
        path, name = node_id.split("::")
        if not name.startswith("test_") or not (ROOT / path).exists() \
                or name not in functions_in(path):
            missing.append(node_id)
    assert missing == []


def test_diagnose_codes_in_the_table_are_diagnose_codes():
    assert {k.split(":", 1)[1] for k in ADVICE if k.startswith("diagnose:")} == set(CODES)


# =================================================================== the symptom tests
@pytest.fixture(scope="module")
def keras(tf):
    from course_lib.tf_setup import import_keras

    keras = import_keras()
    assert keras.backend.backend() == "tensorflow"   # the hidden-logits rule is this backend's
    return keras


def caught(fn, *args, **kwargs) -> list[str]:
    """The messages of every warning ``fn(*args, **kwargs)`` raises (each, not once a site)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fn(*args, **kwargs)
    return [str(w.message) for w in seen]


def codes(y_true, y_pred, loss) -> list[str]:
    return [f.code for f in diagnose(y_true, y_pred, loss)]


RNG = np.random.default_rng(9)
B, C = 32, 5
LOGITS = (4 * RNG.standard_normal((B, C))).astype(np.float32)
IDS = RNG.integers(0, C, B)
ONE_HOT = np.eye(C, dtype=np.float32)[IDS]
TAGS = (RNG.random((B, C)) < 0.4).astype(np.float32)
# one confidently wrong example: logit +30 on a wrong class, -30 on the true one
Z_WRONG = np.array([[30.0, -30.0]], np.float32)
Y_WRONG = np.array([[0.0, 1.0]], np.float32)
EXACT = 60.0              # softmax CE of Z_WRONG, Y_WRONG; the sigmoid CE mean is 30.0


def tiny_model(keras, act, units=2, after=None, dtype=None):
    """x -> Dense(units, identity kernel, zero bias, activation=act) [-> after]: z = x."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((units,))
    kernel = "identity" if units > 1 else "ones"
    out = keras.layers.Dense(units, activation=act, kernel_initializer=kernel,
                             bias_initializer="zeros", dtype=dtype)(inputs)
    return keras.Model(inputs, after(out) if after else out)


# ------------------------------------------------------------------ the probability path
def test_probabilities_as_logits_squash_the_loss(tf, keras):
    """A softmax (sigmoid) applied to probabilities again: every loss lands in a narrow band."""
    right = tf.nn.softmax_cross_entropy_with_logits(ONE_HOT, LOGITS).numpy()
    low, high = np.log(1 + (C - 1) / np.e), np.log(np.e + C - 1)   # softmax of values in [0, 1]
    model = tiny_model(keras, "softmax", units=C)
    predicted = model.predict(LOGITS, verbose=0)                   # predict() output
    for wrong in (tf.nn.softmax_cross_entropy_with_logits(ONE_HOT, tf.nn.softmax(LOGITS)),
                  keras.losses.categorical_crossentropy(ONE_HOT, predicted, from_logits=True),
                  keras.losses.categorical_crossentropy(ONE_HOT, np.asarray(predicted),
                                                        from_logits=True)):
        wrong = np.asarray(wrong)
        assert wrong.min() >= low - 1e-6 and wrong.max() <= high + 1e-6
    assert right.min() < low and right.max() > high
    p = tf.sigmoid(LOGITS).numpy()                                 # sigmoid: [softplus(∓1)]
    wrong = tf.nn.sigmoid_cross_entropy_with_logits(TAGS, p).numpy()
    assert wrong.min() >= np.log1p(np.exp(-1)) - 1e-6 and wrong.max() <= np.log1p(np.e) + 1e-6
    right = tf.nn.sigmoid_cross_entropy_with_logits(TAGS, LOGITS).numpy()
    assert right.max() > np.log1p(np.e)
    assert codes(IDS, tf.nn.softmax(LOGITS), tf.nn.sparse_softmax_cross_entropy_with_logits) \
        == ["probabilities-as-logits"]
    assert codes(TAGS, p, keras.losses.BinaryCrossentropy(from_logits=True)) \
        == ["probabilities-as-logits"]


def test_logits_into_keras_default_are_clipped(tf, keras):
    """Keras' default (from_logits=False) on logits: clipped, wrong, no error."""
    pairs = ((keras.losses.SparseCategoricalCrossentropy, IDS, LOGITS),
             (keras.losses.CategoricalCrossentropy, ONE_HOT, LOGITS),
             (keras.losses.BinaryCrossentropy, TAGS, LOGITS))
    for cls, y, z in pairs:
        wrong, right = cls()(y, z).numpy(), cls(from_logits=True)(y, z).numpy()
        assert np.isfinite(wrong) and not np.isclose(wrong, right, rtol=0.1), cls.__name__
        assert codes(y, z, cls()) == ["logits-as-probabilities"]
    bce = keras.losses.BinaryCrossentropy()                 # the clip: values past it are equal
    assert bce(TAGS, LOGITS).numpy() == bce(TAGS, np.clip(LOGITS, 1e-7, 1 - 1e-7)).numpy()
    assert bce(TAGS, LOGITS).numpy() != bce(TAGS, np.clip(LOGITS, 1e-3, 1 - 1e-3)).numpy()


def test_keras_activations_hand_fit_their_pre_activations(tf, keras):
    """A Keras softmax/sigmoid, or such an op last in the model: evaluate gives the exact loss."""
    cases = {"softmax": keras.losses.CategoricalCrossentropy(),
             "sigmoid": keras.losses.BinaryCrossentropy()}
    for act, loss in cases.items():
        exact = EXACT if act == "softmax" else EXACT / 2
        tf_op = getattr(tf.nn, act) if act == "softmax" else tf.sigmoid
        for last in (act, getattr(keras.ops, act), keras.layers.Lambda(tf_op)):
            model = (tiny_model(keras, last) if isinstance(last, str)
                     else tiny_model(keras, None, after=last))
            model.compile(loss=loss)
            value = model.evaluate(Z_WRONG, Y_WRONG, verbose=0)
            assert value == pytest.approx(exact, rel=1e-6) and value > CLIP_CAP, (act, last)


def test_from_logits_true_on_a_keras_activation_warns_and_fit_is_right(tf, keras):
    for act, cls, exact in (("softmax", keras.losses.CategoricalCrossentropy, EXACT),
                            ("sigmoid", keras.losses.BinaryCrossentropy, EXACT / 2)):
        model = tiny_model(keras, act)
        model.compile(loss=cls(from_logits=True))
        seen = caught(model.evaluate, Z_WRONG, Y_WRONG, verbose=0)
        assert model.evaluate(Z_WRONG, Y_WRONG, verbose=0) == pytest.approx(exact, rel=1e-6)
        name = "Softmax" if act == "softmax" else "Sigmoid"
        assert any("received `from_logits=True`, but the `output` argument was produced by a "
                   f"{name} activation" in m for m in seen), seen
        history = model.fit(Z_WRONG, Y_WRONG, epochs=1, verbose=0).history["loss"][0]
        assert history == pytest.approx(exact, rel=1e-6)          # fit trains on the logits
        doubled = cls(from_logits=True)(Y_WRONG, model.predict(Z_WRONG, verbose=0)).numpy()
        assert doubled < 2                                         # predict(): applied twice


def test_probability_path_clips_outside_fit(tf, keras):
    """predict(), arrays, eager tf.nn ops, an op after the activation, float16: clipped."""
    for act, loss, exact in (("softmax", keras.losses.CategoricalCrossentropy(), EXACT),
                             ("sigmoid", keras.losses.BinaryCrossentropy(), EXACT / 2)):
        eager_op = tf.nn.softmax if act == "softmax" else tf.nn.sigmoid
        values = {"predict()": loss(Y_WRONG, tiny_model(keras, act).predict(Z_WRONG, verbose=0)),
                  "array": loss(Y_WRONG, eager_op(Z_WRONG).numpy()),
                  "eager tf.nn": loss(Y_WRONG, eager_op(Z_WRONG))}
        for name, model in (
                ("then tf.identity",
                 tiny_model(keras, act, after=keras.layers.Lambda(tf.identity))),
                ("mixed_float16", tiny_model(keras, act, dtype="mixed_float16"))):
            model.compile(loss=loss)
            values[name] = model.evaluate(Z_WRONG, Y_WRONG, verbose=0)
        for name, value in values.items():
            assert float(value) <= CLIP_CAP + 1e-3 < exact - 10, (act, name)
        z = tf.constant(Z_WRONG)
        with tf.GradientTape() as tape:
            tape.watch(z)
            clipped = loss(Y_WRONG, eager_op(z))
        assert np.all(tape.gradient(clipped, z).numpy() == 0)          # gradient 0
        logits_loss = type(loss)(from_logits=True)(Y_WRONG, Z_WRONG)   # the fix: logits
        assert float(logits_loss) == pytest.approx(exact, rel=1e-6)


# -------------------------------------------------------------------- label mistakes
def test_double_softmax_predicts_near_uniform(tf, keras):
    model = tiny_model(keras, "softmax", units=C, after=keras.layers.Softmax())
    p = model.predict(LOGITS, verbose=0)
    ratio = p.max(axis=1) / p.min(axis=1)
    assert np.all(ratio <= np.e + 1e-5)                              # within a factor e
    assert p.max() <= np.e / (np.e + C - 1) + 1e-6                   # never confident
    once = tiny_model(keras, "softmax", units=C).predict(LOGITS, verbose=0)
    assert once.max() > 0.9
    assert codes(ONE_HOT, p, "categorical_crossentropy") == ["double-softmax"]


def test_one_hot_rows_into_sparse_losses_raise(tf, keras):
    for loss in (keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                 tf.nn.sparse_softmax_cross_entropy_with_logits):
        with pytest.raises(ValueError, match="rank"):
            loss(ONE_HOT, LOGITS)
        assert codes(ONE_HOT, LOGITS, loss) == ["one-hot-into-sparse"]


def test_class_ids_into_dense_losses_raise_or_are_wrong(tf, keras):
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match="same rank"):
        loss(IDS, LOGITS)
    with pytest.raises(tf.errors.InvalidArgumentError, match="broadcastable"):
        tf.nn.softmax_cross_entropy_with_logits(IDS.astype(np.float32), LOGITS)   # B != C
    square, ids = LOGITS[:C], IDS[:C]                                 # B == C: a number
    wrong = tf.nn.softmax_cross_entropy_with_logits(ids.astype(np.float32), square).numpy()
    right = tf.nn.sparse_softmax_cross_entropy_with_logits(ids, square).numpy()
    assert wrong.shape == right.shape and not np.allclose(wrong, right)
    assert codes(IDS, LOGITS, loss) == ["int-labels-into-dense"]


def test_softmax_on_multi_hot_caps_each_tag_at_half(tf):
    """Minimise each loss for the tags [1, 1, 0, 0]: softmax stops at 1/2 per tag."""
    tags = tf.constant([[1.0, 1.0, 0.0, 0.0]])
    found = {}
    for name, loss in (("softmax", tf.nn.softmax_cross_entropy_with_logits),
                       ("sigmoid", tf.nn.sigmoid_cross_entropy_with_logits)):
        z = tf.Variable(tf.zeros((1, 4)))
        for _ in range(100):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(loss(tags, z))
            z.assign_sub(2.0 * tape.gradient(value, z))
        found[name] = (tf.nn.softmax(z) if name == "softmax" else tf.sigmoid(z)).numpy()[0]
    assert np.all(found["softmax"][:2] <= 0.5 + 1e-6) and found["softmax"][:2].min() > 0.49
    assert found["sigmoid"][:2].min() > 0.95
    assert codes(TAGS, LOGITS, tf.nn.softmax_cross_entropy_with_logits) \
        == ["softmax-on-multilabel"]


def test_categorical_on_one_unit_is_zero_while_weights_move(tf, keras):
    y = RNG.integers(0, 2, (B, 1)).astype(np.float32)
    x = RNG.standard_normal((B, 3)).astype(np.float32)
    z = tf.constant(LOGITS[:, :1])
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = tf.nn.softmax_cross_entropy_with_logits(y, z)
    assert np.all(loss.numpy() == 0)                                  # whatever the labels
    np.testing.assert_array_equal(tape.gradient(loss, z).numpy(), 1 - y)   # not 0
    clipped = keras.losses.CategoricalCrossentropy()(y, LOGITS[:, :1]).numpy()
    assert 0 <= clipped < 2e-7                                        # about 1e-7
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = model.layers[0].kernel.numpy().copy()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=2, verbose=0).history["loss"]
    assert history == [0.0, 0.0]
    assert np.abs(model.layers[0].kernel.numpy() - before).max() > 0          # weights move
    assert np.all(model.predict(x, verbose=0) == 1)                           # output stays 1
    messages = " ".join(str(w.message) for w in seen)
    assert "with num_classes > 1" in messages and "This axis has size 1" in messages
    assert codes(y, LOGITS[:, :1], keras.losses.CategoricalCrossentropy(from_logits=True)) \
        == ["categorical-on-single-unit"]


def test_out_of_range_labels_raise_or_are_nan_under_xla(tf, keras, monkeypatch):
    bad = IDS.copy()
    bad[:3] = [C, -1, C + 2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the valid range"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(bad, LOGITS)
    xla = tf.function(tf.nn.sparse_softmax_cross_entropy_with_logits, jit_compile=True)
    value = xla(bad, LOGITS).numpy()
    assert np.all(np.isnan(value[:3])) and np.all(np.isfinite(value[3:]))     # no error
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((C,)), keras.layers.Dense(C)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=True)
    assert np.isnan(model.evaluate(LOGITS, bad, verbose=0))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert model.jit_compile is False                          # "auto" on a CPU-only machine
    gpu = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")
    cpus = tf.config.list_physical_devices("CPU")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [*cpus, gpu])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert model.jit_compile is True                           # "auto" where a GPU exists
    monkeypatch.undo()
    assert codes(bad, LOGITS, tf.nn.sparse_softmax_cross_entropy_with_logits) \
        == ["label-out-of-range"]
    signs = np.where(TAGS > 0, 1.0, -1.0).astype(np.float32)      # {-1, 1} labels
    assert tf.nn.sigmoid_cross_entropy_with_logits(signs, LOGITS).numpy().min() < 0
    assert codes(signs, LOGITS, tf.nn.sigmoid_cross_entropy_with_logits) \
        == ["label-out-of-range"]


def test_broadcasting_losses_return_a_wrong_number_silently(tf, keras):
    y = IDS % 2
    y_b, z = y.astype(np.float32), LOGITS[:, :1]                      # [B] against [B, 1]
    right = tf.nn.sigmoid_cross_entropy_with_logits(y_b[:, None], z).numpy()[:, 0]
    silent = tf.nn.softmax_cross_entropy_with_logits(y_b, z).numpy()
    assert silent.shape == (B,) and np.ptp(silent) == 0 and not np.allclose(silent, right)
    by_hand = y_b * tf.math.softplus(-z) + (1 - y_b) * tf.math.softplus(z)
    assert by_hand.shape == (B, B)                                     # hand-written formula
    p = tf.sigmoid(z).numpy()
    focal = keras.losses.categorical_focal_crossentropy
    with warnings.catch_warnings():               # Keras warns about the one unit
        warnings.simplefilter("ignore")
        silent = focal(y_b, p).numpy()            # every example sees every label
        same_shape = focal(y_b[:, None], p).numpy()
    assert silent.shape == (B,) and np.ptp(silent) == 0 < np.ptp(same_shape)
    for loss in (tf.nn.softmax_cross_entropy_with_logits, focal):
        assert codes(y_b, p if loss is focal else z, loss) == ["silent-broadcast"]


def test_rank_mismatch_quotes_the_error_tf_raises(tf, keras):
    y, z = (IDS % 2).astype(np.float32), LOGITS[:, :1]
    p = tf.sigmoid(z).numpy()
    cases = [(tf.nn.sigmoid_cross_entropy_with_logits, z),
             (functools.partial(tf.nn.weighted_cross_entropy_with_logits, pos_weight=2.0), z),
             (tf.compat.v1.losses.sigmoid_cross_entropy, z),
             (tf.compat.v1.losses.softmax_cross_entropy, z),
             (keras.losses.binary_crossentropy, p), (keras.losses.categorical_crossentropy, p),
             (keras.losses.binary_focal_crossentropy, p)]
    for (loss, pred), (y_true, y_pred) in itertools.product(cases, ((0, 0), (1, 1))):
        y_true, y_pred = (y, pred) if y_true == 0 else (y[:, None], pred[:, 0])
        findings = diagnose(y_true, y_pred, loss)
        assert [f.code for f in findings] == ["rank-mismatch"], loss
        quoted = findings[0].message.split("this call raises ", 1)[1]
        kind, text = quoted.split(": ", 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as err:
                loss(y_true, y_pred)
        assert type(err.value).__name__ == kind and text in str(err.value), (loss, quoted)
    reverse = diagnose(y[:, None], z[:, 0], tf.nn.softmax_cross_entropy_with_logits)[0]
    kind, text = reverse.message.split("this call raises ", 1)[1].split(": ", 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(text)):
        tf.nn.softmax_cross_entropy_with_logits(y[:, None], z[:, 0])
    # the fix's claim: loss objects and model.compile match the ranks of (B,) and (B, 1)
    right = tf.nn.sigmoid_cross_entropy_with_logits(y[:, None], z).numpy().mean()
    assert keras.losses.BinaryCrossentropy(from_logits=True)(y, z).numpy() \
        == pytest.approx(right, rel=1e-5)
    for loss in (tf.nn.sigmoid_cross_entropy_with_logits,
                 lambda t, o: t * tf.math.softplus(-o) + (1 - t) * tf.math.softplus(o)):
        model = tiny_model(keras, None, units=1)                      # outputs z itself
        model.compile(loss=loss)
        assert model.evaluate(z, y, batch_size=B, verbose=0) == pytest.approx(right, rel=1e-5)


def test_float16_probabilities_saturate(tf, keras):
    x = np.arange(6, 9, 0.001).astype(np.float16)
    ones = tf.sigmoid(tf.constant(x)).numpy() == 1
    assert ones[x == np.float16(7.625)].all() and ones[x > 8.32].all() and not ones[x < 7.6].any()
    y = np.zeros((4, 1), np.float32)
    p = tf.sigmoid(tf.constant([[8.0], [9.0], [12.0], [20.0]], tf.float16))
    p32 = tf.cast(p, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(p32)
        capped = keras.losses.BinaryCrossentropy()(y, p32)
    assert float(capped) <= CLIP_CAP and np.all(tape.gradient(capped, p32).numpy() == 0)
    assert np.float16(1 - 1e-7) == 1
    in_float16 = keras.losses.BinaryCrossentropy(dtype="float16")(y.astype(np.float16), p)
    assert np.isinf(in_float16.numpy())
    assert codes(y, p, keras.losses.BinaryCrossentropy()) == ["float16-saturation"]


# ------------------------------------------------------------------ what each op computes
def test_sparse_op_takes_any_rank_and_equals_the_dense_op(tf):
    ids = RNG.integers(0, C, (4, 3, 2))                               # [B, H, W]
    z = tf.constant((2 * RNG.standard_normal((4, 3, 2, C))).astype(np.float32))
    one_hot = tf.one_hot(ids, C)
    with tf.GradientTape() as tape:
        tape.watch(z)
        sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(ids, z)
    dense = tf.nn.softmax_cross_entropy_with_logits(one_hot, z)
    np.testing.assert_allclose(sparse.numpy(), dense.numpy(), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(sparse, z).numpy(),
                               (tf.nn.softmax(z) - one_hot).numpy(), atol=1e-6)
    graph = tf.function(tf.nn.sparse_softmax_cross_entropy_with_logits).get_concrete_function(
        tf.TensorSpec((None,), tf.int64), tf.TensorSpec((None, C), tf.float32)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert "SparseSoftmaxCrossEntropyWithLogits" in kinds and "OneHot" not in kinds


def test_dense_softmax_op_is_the_formula_and_stable(tf):
    soft = RNG.dirichlet(np.ones(C), B).astype(np.float32)
    formula = -np.sum(soft * tf.nn.log_softmax(LOGITS).numpy(), axis=-1)
    np.testing.assert_allclose(tf.nn.softmax_cross_entropy_with_logits(soft, LOGITS).numpy(),
                               formula, rtol=1e-5)
    huge = 1000 * LOGITS
    fused = tf.nn.softmax_cross_entropy_with_logits(soft, huge).numpy()
    naive = -tf.reduce_sum(soft * tf.math.log(tf.nn.softmax(huge)), axis=-1).numpy()
    assert np.all(np.isfinite(fused)) and not np.all(np.isfinite(naive))


def test_binary_is_a_two_class_softmax(tf):
    y = (IDS % 2)[:, None]
    z = LOGITS[:, :1]
    sigmoid = tf.nn.sigmoid_cross_entropy_with_logits(y.astype(np.float32), z).numpy()[:, 0]
    two_class = tf.nn.softmax_cross_entropy_with_logits(
        np.hstack([y, 1 - y]).astype(np.float32), np.hstack([z, np.zeros_like(z)])).numpy()
    np.testing.assert_allclose(sigmoid, two_class, rtol=1e-5, atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="int64"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)    # int labels: no cast
    with pytest.raises(ValueError, match="same shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=y[:, 0].astype(np.float32), logits=z)


def test_multi_label_sigmoid_ce_is_per_entry(tf, keras):
    per_entry = tf.nn.sigmoid_cross_entropy_with_logits(TAGS, LOGITS).numpy()
    assert per_entry.shape == (B, C)
    per_example = keras.losses.binary_crossentropy(TAGS, LOGITS, from_logits=True).numpy()
    np.testing.assert_allclose(per_example, per_entry.mean(axis=1), rtol=1e-5)


def test_dense_op_differentiates_soft_labels(tf):
    teacher = tf.constant(RNG.dirichlet(np.ones(C), B).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(teacher)
        raw = tf.nn.softmax_cross_entropy_with_logits(teacher, LOGITS)
        stopped = tf.nn.softmax_cross_entropy_with_logits(tf.stop_gradient(teacher), LOGITS)
    assert np.abs(tape.gradient(raw, teacher).numpy()).max() > 0
    assert tape.gradient(stopped, teacher) is None


# ------------------------------------------------------------------------------ weights
def test_per_example_weights_and_divisors(tf, keras):
    w = RNG.uniform(0.5, 2.0, B).astype(np.float32)
    w[::4] = 0
    per = tf.nn.sparse_softmax_cross_entropy_with_logits(IDS, LOGITS).numpy()
    keras_value = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        IDS, LOGITS, sample_weight=w).numpy()
    assert keras_value == pytest.approx((w * per).sum() / B, rel=1e-5)      # divides by B
    assert keras_value != pytest.approx((w * per).sum() / w.sum(), rel=1e-3)
    v1 = tf.compat.v1.losses.sparse_softmax_cross_entropy(IDS, LOGITS, weights=w).numpy()
    assert v1 == pytest.approx((w * per).sum() / np.count_nonzero(w), rel=1e-5)
    assert v1 != pytest.approx(keras_value, rel=1e-3)


def per_position_data(b, t, c=C):
    rng = np.random.default_rng(b * 10 + t)
    return (rng.standard_normal((b, t, 2)).astype(np.float32), rng.integers(0, c, (b, t)),
            rng.uniform(0.5, 3.0, c).astype(np.float32))


def sequence_model(keras, t, loss):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((t, 2)), keras.layers.Dense(C)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
    return model


def test_per_position_class_weights(tf, keras):
    from keras.src.trainers.data_adapters.data_adapter_utils import (  # what fit() uses
        class_weight_to_sample_weights,
    )

    sparse = keras.losses.SparseCategoricalCrossentropy
    x, y, cw = per_position_data(4, 3)                                      # T != B: raises
    model = sequence_model(keras, 3, sparse(from_logits=True))
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        model.fit(x, y, class_weight=dict(enumerate(cw)), batch_size=4, verbose=0)
    x4, y4, cw4 = per_position_data(4, 4)                                   # T == B: runs
    model4 = sequence_model(keras, 4, sparse(from_logits=True))
    model4.fit(x4, y4, class_weight=dict(enumerate(cw4)), batch_size=4, verbose=0)
    by_example = class_weight_to_sample_weights(y4, dict(enumerate(cw4)))
    assert by_example.shape == (4,)                                          # whole examples
    np.testing.assert_array_equal(by_example, cw4[np.argmax(y4, axis=-1)])   # argmax of ids
    z = model(x).numpy()                                                     # per position
    per = tf.nn.sparse_softmax_cross_entropy_with_logits(y, z).numpy()
    w = cw[y]
    assert sparse(from_logits=True)(y, z, sample_weight=w).numpy() \
        == pytest.approx((w * per).sum() / y.size, rel=1e-5)                 # B·T
    assert sparse(from_logits=True, reduction="mean_with_sample_weight")(
        y, z, sample_weight=w).numpy() == pytest.approx((w * per).sum() / w.sum(), rel=1e-5)
    padded = np.where(np.arange(3) == 2, -1, y)                              # last step: pad
    valid = padded != -1
    per_valid = tf.nn.sparse_softmax_cross_entropy_with_logits(np.where(valid, padded, 0),
                                                               z).numpy()
    assert sparse(from_logits=True, ignore_class=-1)(padded, z).numpy() \
        == pytest.approx(per_valid[valid].mean(), rel=1e-5)                  # valid positions
    history = model.fit(x, y, sample_weight=w, batch_size=4, verbose=0).history["loss"][0]
    assert history == pytest.approx((w * per).sum() / y.size, rel=1e-5)     # fit does the same


def test_keras_class_weight_takes_the_argmax_of_label_rows(tf, keras):
    from keras.src.trainers.data_adapters.data_adapter_utils import (  # what fit() uses
        class_weight_to_sample_weights,
    )

    soft = RNG.dirichlet(np.ones(C), B).astype(np.float32)
    cw = RNG.uniform(0.5, 3.0, C).astype(np.float32)
    by_argmax = class_weight_to_sample_weights(soft, dict(enumerate(cw)))
    np.testing.assert_allclose(by_argmax, cw[soft.argmax(axis=1)])
    assert not np.allclose(by_argmax, soft @ cw)                     # not the expected weight
    np.testing.assert_allclose(class_weight_to_sample_weights(ONE_HOT, dict(enumerate(cw))),
                               ONE_HOT @ cw)                         # the same for one-hot rows
    x, y, cw = per_position_data(4, 3)
    rows = np.eye(C, dtype=np.float32)[y]                            # [B, T, C]
    cce = keras.losses.CategoricalCrossentropy(from_logits=True)
    model = sequence_model(keras, 3, cce)
    with pytest.raises(TypeError):
        model.fit(x, rows, class_weight=dict(enumerate(cw)), batch_size=4, verbose=0)
    z = model(x).numpy()
    per = tf.nn.softmax_cross_entropy_with_logits(rows, z).numpy()
    w = rows @ cw
    assert cce(rows, z, sample_weight=w).numpy() == pytest.approx((w * per).mean(), rel=1e-5)


def test_pos_weight_and_its_keras_forms(tf, keras):
    y = TAGS[:, :1]
    z, q = LOGITS[:, :1], np.float32(3.0)
    weighted = tf.nn.weighted_cross_entropy_with_logits(y, z, q).numpy()
    formula = q * y * tf.math.softplus(-z) + (1 - y) * tf.math.softplus(z)
    np.testing.assert_allclose(weighted, formula.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="pos_weight"):
        keras.losses.BinaryCrossentropy(from_logits=True, pos_weight=q)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="ones",
                                                                    bias_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    history = model.fit(z, y, class_weight={0: 1.0, 1: float(q)}, batch_size=B, verbose=0)
    assert history.history["loss"][0] == pytest.approx(weighted.mean(), rel=1e-5)
    pos_weight = RNG.uniform(1.0, 5.0, C).astype(np.float32)          # multi-label: the lambda
    shown = choose_loss(exclusive=False, num_classes=C, labels="multi_hot",
                        weighting="per_class").keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((C,)), keras.layers.Dense(C, kernel_initializer=
                                                                    "identity")])
    model.compile(loss=eval(shown, {"tf": tf, "pos_weight": pos_weight}))
    expected = tf.nn.weighted_cross_entropy_with_logits(TAGS, LOGITS, pos_weight).numpy().mean()
    assert model.evaluate(LOGITS, TAGS, batch_size=B, verbose=0) \
        == pytest.approx(expected, rel=1e-5)


def test_pos_weight_on_probabilities_goes_through_log_odds(tf):
    assert "from_logits" not in inspect.signature(tf.nn.weighted_cross_entropy_with_logits) \
        .parameters                                                   # logits path only
    p = tf.sigmoid(LOGITS).numpy().astype(np.float64)
    np.testing.assert_allclose(np.log(p) - np.log1p(-p), LOGITS, rtol=1e-4, atol=1e-4)
    sure = tf.constant([[1.0, 0.0]])
    logit = tf.math.log(sure) - tf.math.log1p(-sure)
    assert np.all(np.isinf(logit.numpy()))
    loss = tf.nn.weighted_cross_entropy_with_logits(tf.constant([[0.0, 1.0]]), logit, 2.0)
    assert not np.all(np.isfinite(loss.numpy()))


# ------------------------------------------------------------------- huge vocabularies
def huge_problem(tf, c=5000, b=16, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    return (tf.constant((0.3 * rng.standard_normal((c, dim))).astype(np.float32)),
            tf.zeros(c), tf.constant(rng.standard_normal((b, dim)).astype(np.float32)),
            rng.integers(0, c, b))


def big_outputs(tf, fn, *specs, shape) -> bool:
    graph = tf.function(fn).get_concrete_function(*specs).graph
    return any(tuple(out.shape) == shape for op in graph.get_operations() for out in op.outputs)


def test_sampled_softmax_is_biased_low_and_never_builds_the_logits(tf):
    W, b, h, y = huge_problem(tf)
    c, batch = W.shape[0], h.shape[0]
    full = tf.nn.sparse_softmax_cross_entropy_with_logits(
        y, tf.matmul(h, W, transpose_b=True) + b).numpy()
    draws = [tf.random.log_uniform_candidate_sampler(y[:, None], 1, 64, True, c, seed=s)
             for s in range(20)]
    sampled = np.array([tf.nn.sampled_softmax_loss(W, b, y[:, None], h, 64, c,
                                                   sampled_values=d).numpy() for d in draws])
    assert sampled.mean() < full.mean()                                       # biased low
    cw = RNG.uniform(0.5, 3.0, c).astype(np.float32)
    weighted = tf.gather(cw, y) * tf.nn.sampled_softmax_loss(W, b, y[:, None], h, 64, c,
                                                             sampled_values=draws[0])
    np.testing.assert_allclose(weighted.numpy(), cw[y] * sampled[0], rtol=1e-6)
    expected = draws[0][2].numpy()                              # log-uniform: small ids first
    assert np.all(np.diff(expected[np.argsort(draws[0][0].numpy())]) <= 0)
    specs = (tf.TensorSpec((batch, 1), tf.int64), tf.TensorSpec((batch, 8), tf.float32))
    assert not big_outputs(tf, lambda labels, inputs: tf.nn.sampled_softmax_loss(
        W, b, labels, inputs, 64, c), *specs, shape=(batch, c))
    assert big_outputs(tf, lambda labels, inputs: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels[:, 0], tf.matmul(inputs, W, transpose_b=True)), *specs, shape=(batch, c))


def test_nce_targets_are_one_over_num_true_and_its_value_is_not_sigmoid_ce(tf):
    W, b, h, _ = huge_problem(tf, seed=1)
    c, batch, k, s = W.shape[0], h.shape[0], 3, 64
    rng = np.random.default_rng(1)
    y = np.stack([rng.choice(c, k, replace=False) for _ in range(batch)])       # [B, K]
    draw = tf.random.log_uniform_candidate_sampler(y, k, s, True, c, seed=0)
    nce = tf.nn.nce_loss(W, b, y, h, s, c, num_true=k, sampled_values=draw).numpy()
    ids, true_count, sampled_count = (t.numpy() for t in draw)
    true_logits = tf.einsum("bd,bkd->bk", h, tf.gather(W, y)) - np.log(true_count)
    noise_logits = tf.matmul(h, tf.gather(W, ids), transpose_b=True) - np.log(sampled_count)
    terms = tf.nn.sigmoid_cross_entropy_with_logits

    def rebuilt(target):
        return (tf.reduce_sum(terms(tf.fill(true_logits.shape, target), true_logits), 1)
                + tf.reduce_sum(terms(tf.zeros_like(noise_logits), noise_logits), 1)).numpy()

    np.testing.assert_allclose(nce, rebuilt(1 / k), rtol=1e-5)                # 1/num_true
    assert not np.allclose(nce, rebuilt(1.0), rtol=1e-3)                      # not 1
    multi_hot = tf.reduce_max(tf.one_hot(y, c), axis=1)
    full = terms(multi_hot, tf.matmul(h, W, transpose_b=True)).numpy()
    for reduced in (full.sum(axis=1), full.mean(axis=1)):
        assert not np.allclose(nce, reduced, rtol=0.1)                        # not sigmoid CE
    specs = (tf.TensorSpec((batch, k), tf.int64), tf.TensorSpec((batch, 8), tf.float32))
    assert not big_outputs(tf, lambda labels, inputs: tf.nn.nce_loss(
        W, b, labels, inputs, s, c, num_true=k), *specs, shape=(batch, c))
    mirror = course_lib.nn.nce_loss(W.numpy(), b.numpy(), y, h.numpy(), s, c, num_true=k,
                                    sampled_values=(ids, true_count, sampled_count))
    np.testing.assert_allclose(mirror, nce, rtol=1e-5)


def test_a_keras_train_step_trains_with_a_sampled_loss(tf, keras):
    """Keras 3 has no sampled loss; a custom train_step calls tf.nn's and fit trains with it."""
    assert not [n for n in dir(keras.losses) if re.search(r"sampled|\bnce", n.lower())]
    c, dim = 2000, 8

    class SampledModel(keras.Model):
        def __init__(self, loss_fn):
            super().__init__()
            self.loss_fn = loss_fn
            self.hidden = keras.layers.Dense(dim)
            self.W = self.add_weight(shape=(c, dim), initializer="glorot_uniform")
            self.b = self.add_weight(shape=(c,), initializer="zeros")

        def call(self, x):
            return self.hidden(x)

        def train_step(self, data):
            x, labels = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(self.loss_fn(self.W, self.b, labels, self(x)))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(grads, self.trainable_variables)
            return {"sampled_loss": loss}      # "loss" is Keras' own tracker

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    ids = rng.integers(0, 50, (64, 3)).astype(np.int64)
    for loss_fn in (lambda W, b, y, h: tf.nn.sampled_softmax_loss(W, b, y[:, :1], h, 64, c),
                    lambda W, b, y, h: tf.nn.nce_loss(W, b, y, h, 64, c, num_true=3)):
        keras.utils.set_random_seed(0)
        model = SampledModel(loss_fn)
        model.compile(optimizer=keras.optimizers.Adam(0.05))
        history = model.fit(x, ids, epochs=5, batch_size=64, verbose=0).history
        losses = history["sampled_loss"]
        assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
