"""The widget experiments' pure functions against TF/Keras; the widgets built without a browser."""

from __future__ import annotations

import html
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_score, recall_score

from course_lib import choose_loss, widgets
from course_lib.widgets import class_imbalance, from_logits, sampling, wizard


@pytest.fixture(scope="module")
def keras(tf):
    from course_lib.tf_setup import import_keras

    return import_keras()


def test_importing_the_widgets_needs_numpy_only():
    """ipywidgets, matplotlib and TF are imported when a widget or figure is made, not before."""
    code = ("import sys, course_lib, course_lib.widgets; "
            "heavy = {'tensorflow', 'keras', 'ipywidgets', 'matplotlib', 'IPython'}; "
            "loaded = heavy & {name.split('.')[0] for name in sys.modules}; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- softmax explorer
@pytest.mark.parametrize(("logits", "temperature", "target"),
                         [((2.0, 1.0, 0.1), 1.0, 0), ((-3.0, 4.5, 0.0, 1.2), 0.3, 2),
                          ((6.0, -6.0), 5.0, 1)])
def test_softmax_explorer_matches_tf(tf, logits, temperature, target):
    r = widgets.softmax_explorer(logits, temperature, target)
    s = tf.constant(np.array(logits) / temperature)
    with tf.GradientTape() as tape:
        tape.watch(s)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits([target], s[None])[0]
    np.testing.assert_allclose(r.probs, tf.nn.softmax(s).numpy(), rtol=1e-12)
    np.testing.assert_allclose(r.loss, loss.numpy(), rtol=1e-12)
    np.testing.assert_allclose(r.gradient, tape.gradient(loss, s).numpy(), atol=1e-12)
    assert f"loss = -log p[{target}] = {r.loss:.4f}" in r.summary()


def test_softmax_explorer_refuses_bad_settings():
    for kwargs in ({"temperature": 0.0}, {"target": 3}, {"logits": [1.0]}):
        with pytest.raises(ValueError):
            widgets.softmax_explorer(**kwargs)


# ---------------------------------------------------------------- sigmoid vs softmax
@pytest.mark.parametrize("logit", [-7.5, -0.3, 0.0, 1.5, 8.0])
def test_sigmoid_is_the_two_class_softmax_in_tf(tf, logit):
    r = widgets.sigmoid_vs_softmax(logit)
    x = tf.constant([logit], tf.float64)
    pair = tf.constant([[logit, 0.0]], tf.float64)
    np.testing.assert_allclose([r.sigmoid, r.softmax], [tf.math.sigmoid(x)[0],
                                                        tf.nn.softmax(pair)[0, 0]], rtol=1e-12)
    np.testing.assert_allclose(
        [r.sigmoid_loss_pos, r.softmax_loss_pos, r.sigmoid_loss_neg, r.softmax_loss_neg],
        [tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(x), x)[0],
         tf.nn.sparse_softmax_cross_entropy_with_logits([0], pair)[0],
         tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(x), x)[0],
         tf.nn.sparse_softmax_cross_entropy_with_logits([1], pair)[0]], rtol=1e-10)
    np.testing.assert_allclose(r.sigmoid, r.softmax, rtol=1e-12)


# ---------------------------------------------------------------- label smoothing
@pytest.mark.parametrize(("smoothing", "classes"), [(0.0, 5), (0.1, 5), (0.3, 3), (1.0, 10)])
def test_label_smoothing_matches_keras_and_its_optimum_is_stationary(tf, keras, smoothing,
                                                                     classes):
    r = widgets.label_smoothing(smoothing, classes)
    margins = np.linspace(-2, 12, 15)
    logits = np.zeros((15, classes))
    logits[:, 0] = margins
    onehot = np.zeros_like(logits)
    onehot[:, 0] = 1
    cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing,
                                               reduction=None, dtype="float64")
    np.testing.assert_allclose(r.loss_curve(margins), cce(onehot, logits), rtol=1e-10)
    if 0 < smoothing < 1:
        m = tf.Variable([r.optimal_margin], dtype=tf.float64)
        with tf.GradientTape() as tape:
            row = tf.concat([m, tf.zeros(classes - 1, tf.float64)], 0)
            loss = tf.nn.softmax_cross_entropy_with_logits(r.target, row)
        assert abs(tape.gradient(loss, m).numpy()[0]) < 1e-12
        np.testing.assert_allclose(loss.numpy(), r.min_loss, rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.2, 0.6])
def test_binary_label_smoothing_matches_keras(keras, smoothing):
    r = widgets.label_smoothing(smoothing, kind="sigmoid")
    margins = np.linspace(-2, 12, 15)
    bce = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=smoothing,
                                          reduction=None, dtype="float64")
    np.testing.assert_allclose(r.loss_curve(margins),
                               bce(np.ones((15, 1)), margins[:, None]), rtol=1e-10)
    assert r.optimal_probability == pytest.approx(1 - smoothing / 2)


def test_smoothing_lowers_the_rewarded_confidence():
    confidence = [widgets.label_smoothing(ls).optimal_probability for ls in (0, 0.1, 0.3, 0.6)]
    assert confidence == sorted(confidence, reverse=True) and confidence[0] == 1.0


# ---------------------------------------------------------------- imbalance
@pytest.mark.parametrize("pos_weight", [0.5, 1.0, 4.0, 20.0])
def test_imbalance_fit_is_a_minimum_of_tfs_weighted_loss(tf, pos_weight):
    r = widgets.imbalance(pos_weight)
    x, z = class_imbalance.imbalanced_data()
    theta = tf.Variable([r.weight, r.bias], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.nn.weighted_cross_entropy_with_logits(
            z, theta[0] * x + theta[1], pos_weight))
    assert np.max(np.abs(tape.gradient(loss, theta).numpy())) < 1e-9
    assert r.threshold == pytest.approx(-r.bias / r.weight)


@pytest.mark.parametrize("pos_weight", [1.0, 3.5, 12.0])
def test_imbalance_scores_match_sklearn(pos_weight):
    r = widgets.imbalance(pos_weight)
    x, z = class_imbalance.imbalanced_data()
    predicted = r.weight * x + r.bias > 0
    np.testing.assert_array_equal(r.confusion, confusion_matrix(z, predicted))
    assert r.precision == pytest.approx(precision_score(z, predicted, zero_division=0))
    assert r.recall == pytest.approx(recall_score(z, predicted))


def test_pos_weight_trades_precision_for_recall():
    fits = [widgets.imbalance(q) for q in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)]
    thresholds = [f.threshold for f in fits]
    assert thresholds == sorted(thresholds, reverse=True)
    assert fits[-1].recall > fits[0].recall and fits[-1].precision < fits[0].precision
    bias_shift = fits[3].bias - fits[1].bias            # q 1 → 4: about log 4
    assert bias_shift == pytest.approx(np.log(4), rel=0.2)


# ---------------------------------------------------------------- sampled softmax
def test_sampled_softmax_draw_is_tfs_sampled_softmax_loss(tf):
    r = widgets.sampled_softmax(20, num_draws=5)
    p = sampling.sampled_problem()
    for d in (0, 4):
        candidates, true_count, sampled_count = sampling.draw_candidates(p, 20, d)
        values = (tf.constant(candidates), tf.constant(true_count, tf.float64),
                  tf.constant(sampled_count, tf.float64))
        loss = tf.nn.sampled_softmax_loss(p.weights, p.biases, p.labels, p.inputs, 20,
                                          sampling.NUM_CLASSES, sampled_values=values)
        np.testing.assert_allclose(r.sampled[d], np.mean(loss.numpy()), rtol=1e-10)
    full = tf.nn.sparse_softmax_cross_entropy_with_logits(
        p.labels[:, 0], p.inputs @ p.weights.T + p.biases)
    np.testing.assert_allclose(r.full_loss, np.mean(full.numpy()), rtol=1e-12)


def test_sampled_loss_is_biased_low_and_more_samples_shrink_bias_and_spread():
    small, large = widgets.sampled_softmax(10), widgets.sampled_softmax(200)
    assert small.sampled_bias < large.sampled_bias < 0
    assert large.sampled.std() < small.sampled.std()
    assert abs(large.estimated_bias) < abs(large.sampled_bias) / 5


# ---------------------------------------------------------------- from_logits trap
@pytest.mark.parametrize("loss", from_logits.LOSSES)
@pytest.mark.parametrize("scale", [1.0, 6.5, 20.0])
def test_from_logits_trap_matches_keras(keras, loss, scale):
    r = widgets.from_logits_trap(scale, loss)
    y_true, logits, probs = from_logits.trap_inputs(loss, scale)
    fn = getattr(keras.losses, loss)
    for kind, flag in from_logits.COMBINATIONS:
        y_pred = logits if kind == "logits" else probs
        expected = np.mean(fn(y_true, y_pred, from_logits=flag).numpy())
        np.testing.assert_allclose(r.values[kind, flag], expected, rtol=2e-6, atol=2e-6)


def test_from_logits_verdicts():
    mild, sure = (widgets.from_logits_trap(s) for s in (1.0, 20.0))
    assert mild.verdicts["probabilities", False] == "right"
    assert sure.verdicts["probabilities", False] == "right but clipped at 1e-7"
    assert sure.error("probabilities", True) < -10 and sure.error("logits", False) != 0
    assert widgets.from_logits_trap(3.0, "binary_crossentropy").verdicts[
        "probabilities", True] == "wrong: sigmoid applied twice"


# ---------------------------------------------------------------- widgets and figures
WIDGETS = {  # name: (slider description, keyword of the pure function, new value, pure)
    "softmax_explorer": ("temperature T", "temperature", 2.0, widgets.softmax_explorer),
    "sigmoid_vs_softmax": ("logit x", "logit", -2.0, widgets.sigmoid_vs_softmax),
    "label_smoothing": ("smoothing ls", "smoothing", 0.3, widgets.label_smoothing),
    "imbalance": ("pos_weight", "pos_weight", 6.0, widgets.imbalance),
    "sampled_softmax": ("num_sampled", "num_sampled", 50, widgets.sampled_softmax),
    "from_logits": ("logit scale", "scale", 12.0, widgets.from_logits_trap),
}


def shown(box) -> tuple[str, dict]:
    """(printed text, figure data) of an experiment's Output widget."""
    stream, figure = box.children[-1].outputs
    return stream["text"], figure["data"]


@pytest.mark.parametrize("name", WIDGETS)
def test_widget_redraws_the_pure_functions_summary(name):
    import matplotlib.pyplot as plt

    description, keyword, value, pure = WIDGETS[name]
    box = getattr(widgets, f"{name}_widget")()
    text, figure = shown(box)
    assert text.strip() and figure["image/png"] and figure["text/plain"].startswith("<Figure")
    slider = next(c for c in box.children if getattr(c, "description", None) == description)
    slider.value = value
    assert shown(box)[0] == pure(**{keyword: value}).summary() + "\n"
    assert plt.get_fignums() == []                 # every figure was closed after display


@pytest.mark.parametrize("name", WIDGETS)
def test_static_fallback_figure(name):
    import matplotlib.pyplot as plt

    fig = getattr(widgets, f"{name}_figure")()
    assert len(fig.axes) == 2
    plt.close(fig)


def test_wizard_shows_choose_loss_and_reasons_for_contradictions():
    box = widgets.chooser_wizard()
    controls = {c.description: c for c in box.children if hasattr(c, "description")}
    answer = box.children[-1]
    assert str(choose_loss(exclusive=True, num_classes=10, labels="int")).split("\n")[0] \
        in answer.value
    controls["classes"].value = False
    assert "sigmoid_cross_entropy_with_logits" in answer.value
    expected = wizard.wizard_text(exclusive=False, num_classes=10, labels="multi_hot")
    assert answer.value == wizard.ANSWER_HTML.format(html.escape(expected))
    controls["huge_num_classes: sample the classes"].value = True   # 10 classes: not huge
    expected = wizard.wizard_text(exclusive=False, num_classes=10, labels="multi_hot",
                                  huge_num_classes=True)
    assert expected.startswith("Not a valid description: huge_num_classes=True")
    assert answer.value == wizard.ANSWER_HTML.format(html.escape(expected))


def test_wizard_text_gives_the_reason_of_a_contradictory_description():
    text = wizard.wizard_text(exclusive=True, num_classes=10, labels="multi_hot")
    assert text.startswith("Not a valid description") and "several classes" in text


@pytest.mark.parametrize(("first", "second"), [("classes", "labels"), ("labels", "classes")])
def test_wizard_never_shows_an_error_half_way_through_two_menus(first, second):
    """A user turning exclusive one-hot into multi-label changes two menus; the wizard sets the
    second to match the first, so no answer in between is an error, and says what it set."""
    box = widgets.chooser_wizard(labels="one_hot")
    controls = {c.description: c for c in box.children if hasattr(c, "description")}
    note, answer = box.children[-2], box.children[-1]
    shown = []
    answer.observe(lambda change: shown.append(change["new"]), names="value")
    target = {"classes": False, "labels": "multi_hot"}
    controls[first].value = target[first]
    assert controls[second].value == target[second]
    assert f"{second} set to" in note.value
    controls[second].value = target[second]          # the user's second change: already there
    controls["classes"].value = True                 # and back: the one-hot labels return
    assert controls["labels"].value == "one_hot" and "labels set to one_hot" in note.value
    assert shown and not [text for text in shown if "Not a valid description" in text]
    assert answer.value == wizard.ANSWER_HTML.format(html.escape(wizard.wizard_text(
        exclusive=True, num_classes=10, labels="one_hot")))


@pytest.mark.parametrize("labels", ["int", "one_hot", "probabilities", "multi_hot"])
def test_every_label_kind_matches_one_class_kind(labels):
    exclusive = wizard.exclusive_for(labels)
    valid = [e for e in (True, False)
             if not wizard.wizard_text(exclusive=e, num_classes=10, labels=labels)
             .startswith("Not a valid description")]
    assert valid == [exclusive]     # choose_loss accepts this label kind with one class kind
    assert wizard.labels_for(exclusive, labels) == labels
    assert wizard.exclusive_for(wizard.labels_for(not exclusive, labels, "int")) == (not exclusive)
