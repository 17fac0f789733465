"""Which cross-entropy? ``choose_loss`` answers from a description of the problem.

Four questions decide it (lesson 0's chart, lesson 8's wizard):

1. Exclusive classes (each example is exactly one class) → softmax family; independent classes
   (multi-label: any subset may apply) → sigmoid family, one binary problem per class.
   Two exclusive classes with 0/1 labels are one binary problem: one logit, sigmoid CE.
2. Labels as class ids → the sparse op; one-hot or probability rows → the dense op.
3. Weights: per example → multiply the per-example losses; per class → the class's weight
   (softmax family) or ``pos_weight`` on the positive term (sigmoid family).
4. Very many classes → sampled softmax (exclusive) or NCE (multi-label), for training only.

And one about the model: does it output logits (recommended: the fused ops are stable) or
probabilities (then Keras' probability path: exact inside fit/evaluate on a Keras-made
softmax/sigmoid with the TensorFlow backend, clipped at 1e-7 elsewhere)?

The code in a ``LossChoice`` uses fixed names, so it can be pasted and run (the tests do):

    y    labels: class ids [B] (int), rows [B, C] (one_hot, probabilities, multi_hot);
         binary 0/1 labels [B, 1], the shape of the model's Dense(1) output
    z    logits [B, C] ([B, 1] for binary);  p  probabilities of the same shape
    w    per-example weights [B];  class_weights  [C];  pos_weight  scalar or [C]
    W, b, h   the last layer's weights [C, dim], biases [C] and its inputs [B, dim]
              (sampled softmax and NCE never build the [B, C] logits)
    K    NCE's true ids per example: there y is [B, K] class ids (int), the same K for all

``tf_call`` returns per-example (or per-entry) losses; reduce them as you need. ``keras`` is
what to pass as ``model.compile(loss=...)``. This module imports no TensorFlow.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

LABELS = ("int", "one_hot", "probabilities", "multi_hot")
OUTPUTS = ("logits", "probabilities")
WEIGHTINGS = ("none", "per_example", "per_class")
# Below this many classes a full softmax is cheap and sampling only adds bias and noise.
HUGE_MIN_CLASSES = 1_000
# A full softmax this wide is worth sampling (reported in `why` when not asked for).
HUGE_HINT_CLASSES = 100_000
NUM_SAMPLED = 64  # TF's word2vec tutorial value; lesson 6 shows the bias it leaves


@dataclass(frozen=True)
class LossChoice:
    """A recommendation: the TF 2.21 call, the Keras 3 loss, the course_lib mirror, and why."""

    tf_call: str          # exact TF 2.21 code, per-example losses
    keras: str | None     # what to pass to model.compile(loss=...); None if Keras has none
    course_lib: str       # the NumPy mirror of tf_call
    why: str
    avoid: str            # the common wrong choice and what goes wrong with it

    def __str__(self) -> str:
        """The recommendation as the wizard prints it, wrapped to 96 columns."""
        rows = [("TF 2.21", self.tf_call),
                ("Keras 3", self.keras or "(no Keras loss: see why)"),
                ("course_lib", self.course_lib), ("Why", self.why), ("Avoid", self.avoid)]
        return "\n".join(textwrap.fill(text, 96, initial_indent=f"{name + ':':<12}",
                                       subsequent_indent=" " * 12, break_long_words=False,
                                       break_on_hyphens=False)
                         for name, text in rows)


@dataclass(frozen=True)
class _Base:
    """The unweighted recommendation of one family and output kind."""

    tf_call: str
    course_lib: str
    keras: str | None
    shape: str          # "example" ([B] losses) or "entry" ([B, C] losses)
    why: str
    avoid: str


_FROM_LOGITS_AVOID = (
    "{cls}() without from_logits=True: Keras' default expects probabilities, so it clips "
    "your logits into [1e-7, 1 - 1e-7] and returns a wrong loss with no error "
    "(diagnose: logits-as-probabilities).")
_PROBABILITY_WHY = (
    "Your model ends in a {act} and TF's tf.nn ops take logits only, so this is Keras' "
    "probability path. Inside fit/evaluate, on Keras's TensorFlow backend, a {act} made by "
    "Keras (Dense(..., activation='{act}'), keras.ops.{act}) or a {act} op that is the "
    "model's last op hands the loss its pre-activations, and the loss is exact. The loss "
    "clips p into [1e-7, 1 - 1e-7], so a confidently wrong prediction costs at most about 16 "
    "and gets gradient 0, on predict() output, plain arrays, eager tf.nn.{act} output, a "
    "{act} followed by any other op (even tf.identity), and float16 outputs under mixed "
    "precision. Better: drop the final {act}, output logits and choose again with "
    "outputs='logits'.")
_PROBABILITY_AVOID = (
    "from_logits=True on these probabilities: where the loss gets real probabilities "
    "(predict() output, arrays, the clipped cases above) the {act} is applied twice and the "
    "loss is squashed into a narrow band with no error (diagnose: probabilities-as-logits). "
    "On a Keras-made {act} inside fit/evaluate, Keras warns and uses the pre-activations, so "
    "fit is right. diagnose_model(model) checks a compiled model.")


_SPARSE_CLASS_WEIGHTS = (
    " Class weights weigh each position by its class. In Keras, "
    "model.fit(..., class_weight=dict(enumerate(class_weights))) works for [B] or [B, 1] "
    "targets only: it weighs whole examples by the argmax of the target's last axis, so "
    "[B, T] ids raise a shape error (or, when T == B, are silently mis-weighted). For "
    "per-position labels ([B, T], [B, H, W]) pass sample_weight=class_weights[y], of the "
    "labels' shape: the default reduction divides by all positions (B·T), "
    "reduction='mean_with_sample_weight' by Σw; for padding, ignore_class=pad divides by "
    "the valid positions only.")


def _logits_bases(num_classes: int) -> dict[str, _Base]:
    """The logits-path recommendation of each family."""
    tf, cl = "tf.nn.", "course_lib.nn."
    sampled_args = (f"(weights=W, biases=b, labels=y[:, None], inputs=h, "
                    f"num_sampled={NUM_SAMPLED}, num_classes={num_classes})")
    nce_args = (f"(weights=W, biases=b, labels=y, inputs=h, num_sampled={NUM_SAMPLED}, "
                f"num_classes={num_classes}, num_true=K)")
    return {
        "sparse": _Base(
            f"{tf}sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)",
            f"{cl}sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)",
            "keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "example",
            "Exclusive classes with class-id labels: the sparse op takes int labels [B] (any "
            "rank, classes last) and never builds the [B, C] one-hot matrix; it equals the "
            "dense op on one-hot rows, with the gradient softmax - onehot.",
            _FROM_LOGITS_AVOID.format(cls="keras.losses.SparseCategoricalCrossentropy")
            + " Feeding one-hot rows to it instead is an error (diagnose: one-hot-into-sparse)."),
        "softmax": _Base(
            f"{tf}softmax_cross_entropy_with_logits(labels=y, logits=z)",
            f"{cl}softmax_cross_entropy_with_logits(labels=y, logits=z)",
            "keras.losses.CategoricalCrossentropy(from_logits=True)", "example",
            "Exclusive classes with label rows [B, C] (one-hot or probabilities summing to 1): "
            "the dense softmax op, loss = -Σ_j y_j log softmax(z)_j, fused and stable.",
            _FROM_LOGITS_AVOID.format(cls="keras.losses.CategoricalCrossentropy")
            + " Int class ids into this op are wrong (diagnose: int-labels-into-dense)."),
        "binary": _Base(
            f"{tf}sigmoid_cross_entropy_with_logits(labels=tf.cast(y, z.dtype), logits=z)",
            f"{cl}sigmoid_cross_entropy_with_logits(labels=y, logits=z)",
            "keras.losses.BinaryCrossentropy(from_logits=True)", "entry",
            "Two exclusive classes are one binary problem: one logit per example (Dense(1)), "
            "sigmoid CE, which equals a two-class softmax with logits [z, 0]. y and z must "
            "have the same shape [B, 1]; tf.nn's sigmoid op does not cast int labels.",
            "Labels [B] against logits [B, 1]: hand-written formulas broadcast them to [B, B] "
            "(diagnose: silent-broadcast). "
            + _FROM_LOGITS_AVOID.format(cls="keras.losses.BinaryCrossentropy")),
        "sigmoid": _Base(
            f"{tf}sigmoid_cross_entropy_with_logits(labels=y, logits=z)",
            f"{cl}sigmoid_cross_entropy_with_logits(labels=y, logits=z)",
            "keras.losses.BinaryCrossentropy(from_logits=True)", "entry",
            "Independent classes (multi-label): each of the C outputs is its own binary "
            "problem, so sigmoid CE per entry [B, C]; Keras averages the C entries of an "
            "example, tf.nn returns them all.",
            "Softmax CE on multi-hot rows: the classes then compete for one unit of "
            "probability, so two true tags can each get at most 1/2 "
            "(diagnose: softmax-on-multilabel)."),
        "sampled": _Base(
            f"{tf}sampled_softmax_loss{sampled_args}",
            f"{cl}sampled_softmax_loss{sampled_args}",
            None, "example",
            f"{num_classes:,} exclusive classes: a full softmax needs [B, {num_classes:,}] "
            f"logits every step; sampled softmax scores the true class and {NUM_SAMPLED} "
            "sampled ones (log-uniform: sort class ids by frequency). For training only: "
            "Keras 3 has no sampled loss, so call it in a custom train_step; evaluate with "
            "the full softmax.",
            "Reporting the sampled loss as the model's loss: it is biased low (fewer classes "
            "in the normaliser); evaluate with the full softmax or "
            "course_lib.nn.estimate_full_softmax_loss."),
        "nce": _Base(
            f"{tf}nce_loss{nce_args}", f"{cl}nce_loss{nce_args}", None, "example",
            f"{num_classes:,} independent classes: a full sigmoid CE needs [B, {num_classes:,}] "
            "logits every step; NCE scores each example's K true ids (y: [B, K] class ids, "
            f"the same K for every example) and {NUM_SAMPLED} sampled ones, each logit minus "
            "the log of its expected count. Its target is 1/num_true for each true id, not 1, "
            f"so its value (a sum of K + {NUM_SAMPLED} such sigmoid terms) is not a sigmoid-CE "
            "loss. For training only: Keras 3 has no sampled loss, so call it in a custom "
            "train_step; evaluate with the full sigmoid CE.",
            "Reporting the NCE value as the model's multi-label loss: evaluate with "
            "tf.nn.sigmoid_cross_entropy_with_logits on all classes."),
    }


def _probability_base(family: str) -> _Base:
    """The probability-path recommendation of a family (the Keras functional loss)."""
    name, cls, act = {
        "sparse": ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", "softmax"),
        "softmax": ("categorical_crossentropy", "CategoricalCrossentropy", "softmax"),
        "binary": ("binary_crossentropy", "BinaryCrossentropy", "sigmoid"),
        "sigmoid": ("binary_crossentropy", "BinaryCrossentropy", "sigmoid"),
    }[family]
    return _Base(f"tf.keras.losses.{name}(y, p)", f"course_lib.keras_losses.{name}(y, p)",
                 f"keras.losses.{cls}()", "example", _PROBABILITY_WHY.format(act=act),
                 _PROBABILITY_AVOID.format(act=act))


def _family(exclusive: bool, num_classes: int, labels: str, huge: bool) -> str:
    if huge:
        return "sampled" if exclusive else "nce"
    if exclusive and num_classes == 2 and labels == "int":
        return "binary"
    if labels == "int":
        return "sparse"
    return "softmax" if exclusive else "sigmoid"


def _weighted(base: _Base, family: str, outputs: str, weighting: str) -> _Base:
    """``base`` with the weighting applied to its calls, and what Keras needs for it."""
    if weighting == "none":
        return base
    if weighting == "per_example":
        factor = "w[:, None] * " if base.shape == "entry" else "w * "
        return _Base(factor + base.tf_call, factor + base.course_lib, base.keras, base.shape,
                     base.why + " Per-example weights multiply each example's loss; in Keras "
                     "pass sample_weight=w (the loss class divides by B, not by Σw).",
                     base.avoid + " tf.compat.v1.losses with weights= divides by the number "
                     "of non-zero weights instead: the same weights give a different value.")
    if family == "sampled":
        return _Base("tf.gather(class_weights, y) * " + base.tf_call,
                     "class_weights[y] * " + base.course_lib, base.keras, base.shape,
                     base.why + " Class weights weigh each example by its class.", base.avoid)
    if family == "sparse":
        return _Base("tf.gather(class_weights, y) * " + base.tf_call,
                     "class_weights[y] * " + base.course_lib, base.keras, base.shape,
                     base.why + _SPARSE_CLASS_WEIGHTS, base.avoid)
    if family == "softmax":
        return _Base("tf.reduce_sum(y * class_weights, axis=-1) * " + base.tf_call,
                     "(y @ class_weights) * " + base.course_lib, base.keras, base.shape,
                     base.why + " Class weights weigh each example by its class (by the "
                     "expected weight for soft labels). Keras' class_weight takes the "
                     "argmax of each row instead, the same for one-hot rows, and accepts "
                     "[B, C] targets only; for [B, T, C] rows pass "
                     "sample_weight=y @ class_weights.", base.avoid)
    return _pos_weighted(base, family, outputs)


def _pos_weighted(base: _Base, family: str, outputs: str) -> _Base:
    """Sigmoid family with per-class weights: ``pos_weight`` on the positive term."""
    cast = "tf.cast(y, z.dtype)" if family == "binary" else "y"
    logits, np_logits = "z", "z"
    why = (" pos_weight q multiplies the positive term only: "
           "q·y·softplus(-z) + (1 - y)·softplus(z).")
    if outputs == "probabilities":
        cast = "tf.cast(y, p.dtype)" if family == "binary" else "y"
        logits, np_logits = "tf.math.log(p) - tf.math.log1p(-p)", "np.log(p) - np.log1p(-p)"
        why += (" pos_weight exists on the logits path only, so the probabilities are turned "
                "back into logits (their log-odds): p of exactly 0 or 1 gives an infinite "
                "logit, one more reason to output logits.")
    if family == "binary":
        keras = "keras.losses.BinaryCrossentropy(from_logits=True)" if outputs == "logits" \
            else "keras.losses.BinaryCrossentropy()"
        why += (" Keras has no pos_weight; model.fit(..., class_weight={0: 1.0, "
                "1: pos_weight}) gives the same loss for 0/1 labels.")
        avoid = base.avoid
    else:
        pred = "z" if outputs == "logits" else "p"
        keras = (f"lambda y, {pred}: tf.nn.weighted_cross_entropy_with_logits(labels=y, "
                 f"logits={logits}, pos_weight=pos_weight)")
        why += " No Keras loss class takes pos_weight: compile with the function shown."
        avoid = ("model.fit(..., class_weight=...) with multi-hot labels: Keras weighs each "
                 "example by the class of its argmax (its first positive tag), not each tag.")
    return _Base(
        f"tf.nn.weighted_cross_entropy_with_logits(labels={cast}, logits={logits}, "
        "pos_weight=pos_weight)",
        f"course_lib.nn.weighted_cross_entropy_with_logits(labels=y, logits={np_logits}, "
        "pos_weight=pos_weight)",
        keras, "entry", base.why + why, avoid)


def _check_choice(value: object, name: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ValueError(f"`{name}` must be one of {options}; got {value!r}.")


def _validate(exclusive: object, num_classes: object, labels: str, outputs: str,
              weighting: str, huge: object) -> None:
    """Raise ValueError saying why, for an invalid or self-contradicting description."""
    for value, name in ((exclusive, "exclusive"), (huge, "huge_num_classes")):
        if not isinstance(value, bool):
            raise ValueError(f"`{name}` must be True or False; got {value!r}.")
    _check_choice(labels, "labels", LABELS)
    _check_choice(outputs, "outputs", OUTPUTS)
    _check_choice(weighting, "weighting", WEIGHTINGS)
    least = 2 if exclusive else 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < least:
        kind = "exclusive classes need at least 2" if exclusive else "at least 1 class"
        raise ValueError(f"`num_classes` must be an int >= {least} ({kind}); "
                         f"got {num_classes!r}.")
    if exclusive and labels == "multi_hot":
        raise ValueError("labels='multi_hot' marks several classes per example, but "
                         "exclusive=True says each example is exactly one class. Multi-label "
                         "problems are exclusive=False.")
    if not exclusive and labels in ("int", "one_hot"):
        raise ValueError(f"labels={labels!r} names exactly one class per example, which makes "
                         "the classes exclusive; for independent classes (multi-label) give "
                         "multi-hot rows, labels='multi_hot'.")
    if not exclusive and labels == "probabilities":
        raise ValueError("labels='probabilities' are rows summing to 1, one unit shared by the "
                         "classes, which makes them exclusive. Independent classes with soft "
                         "targets in [0, 1] are labels='multi_hot' (sigmoid CE takes any "
                         "target in [0, 1]).")
    if huge:
        _validate_huge(exclusive, num_classes, labels, outputs, weighting)


def _validate_huge(exclusive: bool, num_classes: int, labels: str, outputs: str,
                   weighting: str) -> None:
    if not exclusive and weighting == "per_class":
        raise ValueError("huge_num_classes=True with exclusive=False and weighting='per_class':"
                         " NCE has no per-class weights (its loss per example sums the true "
                         "and the sampled terms); weight examples (weighting='per_example') "
                         "or drop huge_num_classes.")
    if exclusive and labels != "int":
        raise ValueError(f"huge_num_classes=True with labels={labels!r}: rows of "
                         f"{num_classes:,} floats per example are the memory sampled softmax "
                         "avoids; it takes class ids, labels='int'.")
    if outputs != "logits":
        act, loss = ("softmax", "sampled softmax") if exclusive else ("sigmoid", "NCE")
        raise ValueError(f"huge_num_classes=True with outputs='probabilities': a {act} over "
                         f"all classes is exactly what {loss} avoids computing; it "
                         "takes the last layer's weights and inputs (outputs='logits').")
    if num_classes < HUGE_MIN_CLASSES:
        full = "softmax" if exclusive else "sigmoid CE"
        raise ValueError(f"huge_num_classes=True with num_classes={num_classes}: a full "
                         f"{full} over fewer than {HUGE_MIN_CLASSES:,} classes is cheap, and "
                         "sampling would only add bias and noise.")


def choose_loss(*, exclusive: bool, num_classes: int, labels: str, outputs: str = "logits",
                weighting: str = "none", huge_num_classes: bool = False) -> LossChoice:
    """The loss for a problem described by the four questions of the module docstring.

    ``labels`` is one of ``"int"``, ``"one_hot"``, ``"probabilities"``, ``"multi_hot"``;
    ``weighting`` one of ``"none"``, ``"per_example"``, ``"per_class"``. Raises ValueError,
    saying why, for invalid or contradictory descriptions (e.g. ``exclusive=False`` with
    ``labels="int"``).
    """
    _validate(exclusive, num_classes, labels, outputs, weighting, huge_num_classes)
    family = _family(exclusive, num_classes, labels, huge_num_classes)
    base = (_logits_bases(num_classes)[family] if outputs == "logits"
            else _probability_base(family))
    if family == "softmax" and labels == "probabilities":
        base = _Base(base.tf_call, base.course_lib, base.keras, base.shape, base.why
                     + " If the soft labels come from a model being trained (distillation), "
                     "wrap them in tf.stop_gradient: TF 2's op also differentiates the labels.",
                     base.avoid)
    chosen = _weighted(base, family, outputs, weighting)
    why = chosen.why
    if exclusive and not huge_num_classes and num_classes >= HUGE_HINT_CLASSES:
        why += (f" With {num_classes:,} classes consider huge_num_classes=True (sampled "
                "softmax) for training.")
    return LossChoice(chosen.tf_call, chosen.keras, chosen.course_lib, why, chosen.avoid)
