"""A linter for compiled Keras models: ``diagnose_model(model)`` lists what looks wrong.

``course_lib.diagnose`` looks at arrays; this looks at what a Keras model was compiled with:
the last layer (its activation, units and dtype), the loss and its ``from_logits``, the
metrics, and, when given, the targets ``y`` and the ``class_weight`` / ``sample_weight`` that
will be passed to ``fit``. Each ``Finding`` has a stable ``code``, a ``message`` that quotes
what was seen, and a ``fix`` in code. Codes, in the order they are reported:

    single-unit-softmax            softmax over one unit: predict() is 1.0 for every input
    categorical-on-single-unit     categorical cross-entropy on one unit: a loss of ~0 always
    softmax-output-with-from-logits  a softmax (or sigmoid) output with from_logits=True:
                                   fit is right, a loss on predict() output is not
    logits-output-without-from-logits  a linear output read as probabilities
    sigmoid-output-with-categorical-loss  fit trains a softmax, predict() returns sigmoids
    softmax-output-with-binary-loss  fit trains sigmoids, predict() returns a softmax
    accuracy-metric-mismatch       "accuracy" or BinaryAccuracy measuring the wrong thing
    class-weight-on-sequence-targets  class_weight with per-position targets
    sample-weight-rank             one weight per example against one loss per position
    float16-probability-output     a float16 sigmoid/softmax output: a clipped loss

What Keras does here is Keras 3 on its TensorFlow backend (the backend this course runs):
a Keras cross-entropy loss given the output of a Keras ``softmax`` / ``sigmoid`` activation
inside ``fit`` / ``evaluate`` computes the loss from the activation's input (the
pre-activations, or "hidden logits"), whatever ``from_logits`` says. ``predict()`` returns
the probabilities themselves, so a loss applied to them later takes the probability path.

It must not cry wolf: a model compiled the way the lessons recommend gives ``[]``. Importing
this module imports no TensorFlow; ``diagnose_model`` imports Keras when it is called.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from course_lib.diagnose import _TF_LOSSES, Finding, _snake

CODES = ("single-unit-softmax", "categorical-on-single-unit",
         "softmax-output-with-from-logits", "logits-output-without-from-logits",
         "sigmoid-output-with-categorical-loss", "softmax-output-with-binary-loss",
         "accuracy-metric-mismatch", "class-weight-on-sequence-targets", "sample-weight-rank",
         "float16-probability-output")

# Keras cross-entropy functions (what the Keras CE loss classes wrap) → family. The focal
# losses are left out on purpose: with from_logits=True they apply the activation themselves
# and never read the hidden logits, so the messages below would not hold for them.
_KERAS_FAMILIES = {
    "categorical_crossentropy": "softmax",
    "sparse_categorical_crossentropy": "sparse",
    "binary_crossentropy": "sigmoid",
}
_CLASS_NAMES = {
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
}
_HALF = ("float16", "bfloat16")


@dataclass(frozen=True)
class Head:
    """The model's output as the loss sees it."""

    shown: str               # e.g. 'Dense(3, activation="softmax")'
    activation: str | None   # "softmax", "sigmoid", "linear", another name, or None (unknown)
    units: int | None        # size of the output's last axis
    rank: int | None         # rank of the output, batch axis included
    dtype: str               # compute dtype of the layer that applies the activation


@dataclass(frozen=True)
class Loss:
    """The compiled loss, as far as cross-entropy goes."""

    name: str          # Keras function name, e.g. "categorical_crossentropy"
    shown: str         # as the user wrote it, e.g. 'CategoricalCrossentropy(from_logits=True)'
    family: str        # "softmax" (dense labels), "sparse" (class ids) or "sigmoid"
    from_logits: bool
    keras: bool        # a Keras loss: it reads the hidden logits of a Keras activation

    @property
    def class_name(self) -> str:
        """The Keras loss class of this family (also for the tf.nn ops)."""
        return _CLASS_NAMES[{"softmax": "categorical_crossentropy",
                             "sparse": "sparse_categorical_crossentropy",
                             "sigmoid": "binary_crossentropy"}[self.family]]


# ---------------------------------------------------------------- reading the model
def _activation_name(activation: object) -> str | None:
    """"softmax", "sigmoid", "linear", ... for Keras activations; None for anything else.

    Only Keras's own activations are named: they record their input for the loss (the hidden
    logits), which ``tf.nn.softmax`` / ``tf.math.sigmoid`` used as an activation do not.
    """
    name = getattr(activation, "__name__", None)
    module = getattr(activation, "__module__", "") or ""
    return name if isinstance(name, str) and module.startswith("keras") else None


def read_head(model, keras) -> Head:
    """Activation, units, rank and dtype of a single-output model's last layer."""
    layers = list(model.layers)
    if not layers:
        raise ValueError("diagnose_model: the model has no layers.")
    last = layers[-1]
    try:
        outputs = list(model.outputs)
    except (AttributeError, ValueError):     # a Sequential model built without an Input
        outputs = []
    if len(outputs) > 1:
        raise ValueError(f"diagnose_model lints single-output models; got {len(outputs)} "
                         "outputs. Lint each output with its own one-output model.")
    units = rank = None
    if outputs:
        shape = tuple(outputs[0].shape)
        rank, units = len(shape), shape[-1]
    if units is None:
        sized = [layer for layer in layers if isinstance(getattr(layer, "units", None), int)]
        units = sized[-1].units if sized else None
    kind = type(last).__name__
    if isinstance(last, keras.layers.Softmax):
        axis = last.axis
        activation = "softmax" if axis in (-1, [-1], (-1,)) or axis == (rank or 0) - 1 else None
        shown = f"Softmax(axis={axis}) on {units} units"
    elif callable(getattr(last, "activation", None)):
        activation = _activation_name(last.activation)
        if hasattr(last, "units"):
            shown = f'{kind}({last.units}, activation="{activation}")'
        else:
            shown = f'{kind}("{activation}") on {units} units'
    else:
        activation, shown = None, kind
    dtype = str(getattr(last, "compute_dtype", None) or "float32")
    return Head(shown, activation, units, rank, dtype)


def _function_loss(fn, from_logits: bool | None, shown: str | None) -> Loss | None:
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return None
    module = getattr(fn, "__module__", "") or ""
    if name in _KERAS_FAMILIES and module.startswith("keras"):
        fl = bool(from_logits)
        return Loss(name, shown or f"keras.losses.{name}", _KERAS_FAMILIES[name], fl, True)
    snake = _snake(name)
    if snake in _TF_LOSSES:   # tf.nn ops: always logits, and no hidden-logits lookup
        return Loss(snake, shown or f"tf.nn.{snake}", _TF_LOSSES[snake], True, False)
    return None


def read_loss(loss, keras, head: Head, y: np.ndarray | None) -> Loss | None:
    """The cross-entropy behind ``model.loss``; None for a loss this linter does not know."""
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    if isinstance(loss, dict) and len(loss) == 1:
        loss = next(iter(loss.values()))
    if isinstance(loss, str):
        if loss.lower() in ("crossentropy", "ce"):    # Keras picks it from the shapes
            sparse_ids = _sparse_targets(head, y, default=False)
            name = ("binary_crossentropy" if head.units == 1 else
                    "sparse_categorical_crossentropy" if sparse_ids else
                    "categorical_crossentropy")
            return Loss(name, f'"{loss}"', _KERAS_FAMILIES[name], False, True)
        try:
            resolved = keras.losses.get(loss)
        except (ValueError, TypeError):
            return None
        found = read_loss(resolved, keras, head, y)
        return None if found is None else Loss(found.name, f'"{loss}"', found.family,
                                               found.from_logits, found.keras)
    if isinstance(loss, functools.partial):
        return _function_loss(loss.func, loss.keywords.get("from_logits", False),
                              f"functools.partial({getattr(loss.func, '__name__', 'loss')}, "
                              f"from_logits={loss.keywords.get('from_logits', False)})")
    fn = getattr(loss, "fn", None)
    if fn is not None and hasattr(loss, "get_config"):    # Keras LossFunctionWrapper classes
        from_logits = bool(loss.get_config().get("from_logits", False))
        found = _function_loss(fn, from_logits, f"{type(loss).__name__}(from_logits="
                                                f"{from_logits})")
        return found
    if callable(loss):
        return _function_loss(loss, False, None)
    return None


def _sparse_targets(head: Head, y: np.ndarray | None, default: bool) -> bool:
    """Keras 3's rule: y_true has a lower rank than y_pred, or a last axis of 1 (and C > 1)."""
    if y is None or head.rank is None:
        return default
    return y.ndim < head.rank or (y.shape[-1] == 1 and (head.units or 0) > 1)


def _metric_entries(model) -> list[tuple[str, float | None]]:
    """Compiled accuracy metrics as (kind, threshold): kind "accuracy" or "binary_accuracy"."""
    try:
        config = model.get_compile_config() or {}
    except (TypeError, ValueError):   # a loss or metric Keras cannot serialize (a partial)
        config = dict(getattr(getattr(model, "_compile_config", None), "config", None) or {})
    found: list[tuple[str, float | None]] = []

    def visit(entry) -> None:
        if entry is None:
            return
        if isinstance(entry, (list, tuple)):
            for item in entry:
                visit(item)
        elif isinstance(entry, dict) and "class_name" not in entry:
            for item in entry.values():
                visit(item)
        elif isinstance(entry, str):
            if entry.lower() in ("accuracy", "acc"):
                found.append(("accuracy", None))
            elif _snake(entry) == "binary_accuracy":
                found.append(("binary_accuracy", 0.5))
        elif isinstance(entry, dict):
            cfg = entry.get("config")
            if entry.get("class_name") == "BinaryAccuracy" and isinstance(cfg, dict):
                found.append(("binary_accuracy", float(cfg.get("threshold", 0.5))))
            elif cfg == "binary_accuracy":       # the function keras.metrics.binary_accuracy
                found.append(("binary_accuracy", 0.5))
        elif type(entry).__name__ == "BinaryAccuracy" and hasattr(entry, "get_config"):
            found.append(("binary_accuracy", float(entry.get_config().get("threshold", 0.5))))
        elif getattr(entry, "__name__", None) == "binary_accuracy":
            found.append(("binary_accuracy", 0.5))

    visit(config.get("metrics"))
    visit(config.get("weighted_metrics"))
    return found


def _array(value, argument: str) -> np.ndarray | None:
    """NumPy view of y / sample_weight, or None for data we cannot inspect (a tf.data.Dataset)."""
    if value is None or not (isinstance(value, (np.ndarray, list, tuple))
                             or hasattr(value, "numpy") or hasattr(value, "__array__")):
        return None
    if hasattr(value, "element_spec"):      # tf.data.Dataset
        return None
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"diagnose_model: {argument} must be an array (NumPy, list or tensor);"
                         f" got {type(value).__name__}.") from error


# ---------------------------------------------------------------- the checks
def _fix_binary() -> str:
    return ("keras.layers.Dense(1) with loss=keras.losses.BinaryCrossentropy(from_logits=True)"
            ' (or Dense(1, activation="sigmoid") with keras.losses.BinaryCrossentropy())')


def _check_single_unit(head: Head, loss: Loss | None) -> list[Finding]:
    found = []
    if head.activation == "softmax" and head.units == 1:
        message = (f"The last layer, {head.shown}, takes a softmax over one unit: "
                   "exp(z) / exp(z) = 1, so predict() returns 1.0 for every input (Keras "
                   "warns 'This axis has size 1').")
        if loss is not None and loss.keras and loss.family == "softmax":
            message += (f" With {loss.shown} the loss is exactly 0 whatever the labels; the "
                        "weights still move (the gradient of the logit is 1 - y), but the "
                        "output stays 1.")
        elif loss is not None and loss.keras and loss.family == "sigmoid" \
                and head.dtype not in _HALF:
            message += (f" With {loss.shown}, fit and evaluate compute the sigmoid "
                        "cross-entropy of the pre-activation (Keras reads the softmax's input "
                        "as the logit), so fit trains a sigmoid classifier that predict() "
                        "never shows: it returns 1.0.")
        found.append(Finding(
            "single-unit-softmax", message,
            f"One yes/no label per example: {_fix_binary()}. C >= 2 exclusive classes: "
            'keras.layers.Dense(C, activation="softmax") with '
            "keras.losses.CategoricalCrossentropy() (one-hot labels) or "
            "SparseCategoricalCrossentropy() (class ids)."))
    if loss is not None and loss.family == "softmax" and head.units == 1:
        hidden = (head.dtype not in _HALF and loss.keras
                  and head.activation in ("softmax", "sigmoid"))
        if hidden or (loss.from_logits and head.activation == "linear"):
            effect = ("a softmax over one logit is 1, so the loss is exactly 0 whatever the "
                      "labels, and its gradient, 1 - y, is 0 for every example labelled 1: "
                      "fit never learns from them")
        else:
            effect = ("each one-entry row divided by its sum is 1 (clipped to 1 - 1e-7), so "
                      "the loss is a constant of at most 1.2e-7 whatever the labels, with a "
                      "zero gradient: fit learns nothing")
        found.append(Finding(
            "categorical-on-single-unit",
            f"{loss.shown} on an output with 1 unit ({head.shown}): categorical cross-entropy "
            f"normalises over the last axis, which has one entry: {effect} (Keras warns "
            "'expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1').",
            f"Binary labels: {_fix_binary()}. C classes: give the last layer C units "
            '(keras.layers.Dense(C, activation="softmax")) and one-hot labels of shape (B, C).'))
    return found


def _check_activation_vs_loss(head: Head, loss: Loss | None) -> list[Finding]:
    if loss is None or head.units is None:
        return []
    act, half = head.activation, head.dtype in _HALF
    found = []
    matching = ((act == "softmax" and loss.family in ("softmax", "sparse"))
                or (act == "sigmoid" and loss.family == "sigmoid"))
    if matching and loss.from_logits and not (act == "softmax" and head.units == 1):
        if not loss.keras:
            behaviour = (f"{loss.shown} is a TensorFlow op: it does not look behind the "
                         f"{act}, so fit, evaluate and any loss on predict() output all apply "
                         f"the {act} twice (a double {act}), with no warning.")
        elif half:
            behaviour = (f"The layer computes in {head.dtype}: Keras casts its output to "
                         "float32 before the loss, the cast hides the pre-activations, so fit "
                         f"and evaluate apply the {act} twice (a double {act}), with no "
                         "warning.")
        else:
            behaviour = ("In fit and evaluate Keras (TensorFlow backend) computes the loss "
                         f"from the {act}'s input, so training is right, and it warns "
                         "(UserWarning: received `from_logits=True`, but the `output` argument "
                         "was produced by a ... activation). A loss applied to predict() "
                         f"output, or to any plain array of these probabilities, applies the "
                         f"{act} a second time: a double {act}, a wrong loss.")
        units = head.units
        found.append(Finding(
            "softmax-output-with-from-logits",
            f"The last layer, {head.shown}, outputs probabilities, but the loss is "
            f"{loss.shown}, which expects logits. {behaviour}",
            f"Keep activation=\"{act}\" and use keras.losses.{loss.class_name}() "
            f"(from_logits=False), or output logits: keras.layers.Dense({units}) with "
            f"keras.losses.{loss.class_name}(from_logits=True), and "
            f"keras.activations.{act}(model.predict(x)) where you need probabilities."))
    if act == "linear" and loss.keras and not loss.from_logits and head.units is not None:
        if loss.family == "sigmoid":
            reading = ("clips them into [1e-7, 1 - 1e-7]: every logit outside that range "
                       "gets a capped loss and a zero gradient")
        elif loss.family == "sparse":
            reading = ("clips them into [1e-7, 1 - 1e-7] and divides each row by its sum, "
                       "which is not a softmax")
        else:
            reading = ("divides each row by its sum and clips it into [1e-7, 1 - 1e-7], "
                       "which is not a softmax")
        found.append(Finding(
            "logits-output-without-from-logits",
            f"The last layer, {head.shown}, outputs logits (any real number), but the loss is "
            f"{loss.shown}, which expects probabilities (from_logits=False): Keras "
            f"{reading}.",
            f"loss=keras.losses.{loss.class_name}(from_logits=True) (or give the last layer "
            f"activation=\"{'sigmoid' if loss.family == 'sigmoid' else 'softmax'}\")."))
    if act == "sigmoid" and head.units > 1 and loss.family in ("softmax", "sparse") and loss.keras:
        if half:
            trains = ("a categorical loss expects one probability row per example that sums "
                      "to 1 over exclusive classes; independent sigmoids do not sum to 1")
        else:
            trains = ("in fit and evaluate Keras (TensorFlow backend) computes the softmax "
                      "cross-entropy of the pre-activations (it reads the sigmoid's input as "
                      "logits), so fit trains a softmax classifier, but predict() returns the "
                      "sigmoids of those logits: rows that do not sum to 1, and a loss on "
                      "predict() output that differs from the one fit reported")
        found.append(Finding(
            "sigmoid-output-with-categorical-loss",
            f"The last layer, {head.shown}, applies independent sigmoids, but the loss is "
            f"{loss.shown}: {trains}.",
            f'Exclusive classes: keras.layers.Dense({head.units}, activation="softmax") with '
            f"keras.losses.{loss.class_name}(). Several labels per example: keep the sigmoid "
            "and use keras.losses.BinaryCrossentropy() with 0/1 label rows."))
    if act == "softmax" and head.units > 1 and loss.family == "sigmoid" and loss.keras:
        if half:
            trains = ("binary cross-entropy treats each unit as its own yes/no probability, "
                      "but a softmax couples the units (they sum to 1)")
        else:
            trains = ("in fit and evaluate Keras (TensorFlow backend) computes the sigmoid "
                      "cross-entropy of each pre-activation (it reads the softmax's input as "
                      f"logits), so fit trains {head.units} independent sigmoid classifiers, "
                      "but predict() returns the softmax of those logits (rows summing to 1): "
                      "not what was trained, and a loss on predict() output differs from the "
                      "one fit reported")
        found.append(Finding(
            "softmax-output-with-binary-loss",
            f"The last layer, {head.shown}, applies a softmax, but the loss is {loss.shown}: "
            f"{trains}.",
            f'Several labels per example: keras.layers.Dense({head.units}, '
            'activation="sigmoid") with keras.losses.BinaryCrossentropy(). Exclusive classes: '
            "keep the softmax and use keras.losses.CategoricalCrossentropy() (one-hot) or "
            "SparseCategoricalCrossentropy() (class ids)."))
    return found


def _check_metrics(head: Head, loss: Loss | None, metrics, y) -> list[Finding]:
    if loss is None or loss.family != "sigmoid" or head.units is None:
        return []
    logits = head.activation == "linear"
    threshold = "threshold=0.0" if logits else ""
    fix = f"metrics=[keras.metrics.BinaryAccuracy({threshold})]"
    messages = []
    for kind, t in metrics:
        if kind == "accuracy" and head.units > 1:
            picked = ("SparseCategoricalAccuracy" if _sparse_targets(head, y, default=False)
                      else "CategoricalAccuracy")
            messages.append(
                f'metrics=["accuracy"]: Keras picks the accuracy from the shapes of y_true and '
                f"y_pred, not from the loss; with {head.units} output units it becomes {picked}"
                ": whether the highest-scoring label is the argmax of the label row, not the "
                f"per-label accuracy of {loss.shown} on {head.units} independent labels.")
        elif kind == "accuracy" and head.units == 1 and logits:
            messages.append(
                'metrics=["accuracy"]: with one output unit Keras picks BinaryAccuracy('
                f"threshold=0.5), but {head.shown} outputs logits: it counts a logit above 0.5 "
                "(a probability of 0.62) as positive instead of a logit above 0.")
        elif kind == "binary_accuracy" and logits and t is not None and t > 0:
            messages.append(
                f"BinaryAccuracy(threshold={t:g}) on logits ({head.shown}): it counts a logit "
                f"above {t:g} as positive instead of a logit above 0.")
        elif kind == "binary_accuracy" and head.activation == "sigmoid" and t is not None \
                and t <= 0:
            messages.append(
                f"BinaryAccuracy(threshold={t:g}) on sigmoid probabilities ({head.shown}): "
                "every probability is above it, so every prediction counts as positive.")
    if not messages:
        return []
    return [Finding("accuracy-metric-mismatch", " ".join(messages), fix)]


def _check_weights(head: Head, loss: Loss | None, y, class_weight, sample_weight
                   ) -> list[Finding]:
    found = []
    if class_weight is not None and y is not None:
        ids = y.ndim == 2 and y.shape[-1] != 1 and (
            (loss is not None and loss.family == "sparse") or (head.rank or 0) >= 3)
        if y.ndim >= 3:
            sparse = loss is not None and loss.family == "sparse"
            symptom = (f"for targets of shape {y.shape} that argmax is an array of shape "
                       f"{y.shape[:-1]}, not one class per example, and fit raises TypeError "
                       "('only 0-dimensional arrays can be converted to Python scalars')")
            weights = "class_weights[y]" if sparse else "class_weights[y.argmax(-1)]"
        elif ids:
            t = y.shape[-1]
            symptom = ("the argmax of the time axis names one class per example, and a "
                       f"batch's (batch,) weights then meet (batch, {t}) per-position losses; "
                       + _broadcast_story(t))
            weights = "class_weights[y]"
        else:
            symptom = weights = ""
        if symptom:
            found.append(Finding(
                "class-weight-on-sequence-targets",
                f"class_weight with targets of shape {y.shape}: Keras gives each example ONE "
                f"weight, read from the argmax of the target's last axis; {symptom}.",
                "Weigh each position instead: class_weights = np.array([w_0, w_1, ...]); "
                f"model.fit(x, y, sample_weight={weights})  # shape (B, T). To drop padding "
                "only: keras.losses.SparseCategoricalCrossentropy(ignore_class=PAD)."))
    if sample_weight is not None and sample_weight.ndim == 1:
        losses = _loss_shape(head, loss, y)
        if losses is not None and len(losses) >= 2:
            last = losses[-1]
            names = ("B", "T") if len(losses) == 2 else ("B", "H", "W", "D")[:len(losses)]
            shown = "(" + ", ".join(n if d is None else str(d)
                                    for n, d in zip(names, losses, strict=False)) + ")"
            ones = ("y.shape" if y is not None and y.shape == tuple(losses) else
                    "y.shape[:-1]" if y is not None else shown)
            weights = f"w[:{', None' * (len(losses) - 1)}] * np.ones({ones})"
            found.append(Finding(
                "sample-weight-rank",
                f"sample_weight has shape {sample_weight.shape}, one weight per example, but "
                f"the loss gives one value per position, shape {shown}: Keras multiplies the "
                "two with broadcasting from the last axis; " + _broadcast_story(last) + ".",
                f"One weight per position: model.fit(x, y, sample_weight={weights})  # shape "
                f"{shown}; multiply by a 0/1 padding mask to drop padding."))
    return found


def _broadcast_story(last: int | None) -> str:
    """What Keras does with (batch,) weights times (batch, ..., last) losses."""
    size = "T" if last is None else str(last)
    return (f"fit raises (ValueError 'Dimensions must be equal' or InvalidArgumentError "
            f"'Incompatible shapes') for a batch whose size is neither {size} nor 1, and for a "
            f"batch of exactly {size} examples it silently weighs positions instead of examples"
            " (fit's batch_size is 32 unless you set it)")


def _loss_shape(head: Head, loss: Loss | None, y: np.ndarray | None) -> tuple | None:
    """Shape of the per-position losses Keras weighs: y_pred's shape without the class axis."""
    if y is not None and loss is not None:
        if loss.family == "sparse":
            return y.shape[:-1] if y.ndim >= 2 and y.shape[-1] == 1 else y.shape
        return y.shape[:-1]
    if head.rank is not None:
        return (None,) * (head.rank - 1)
    return None


def _check_half(head: Head, loss: Loss | None) -> list[Finding]:
    if (head.dtype not in _HALF or head.activation not in ("sigmoid", "softmax")
            or loss is None):
        return []
    act, shown = head.activation, loss.shown
    if loss.from_logits:
        effect = (f"so {shown} applies the {act} a second time to the {head.dtype} "
                  "probabilities (a double "f"{act}), with no warning")
    else:
        rounding = ("TensorFlow's float16 sigmoid returns exactly 1.0 above about 8.3"
                    if act == "sigmoid" else
                    "the float16 number next to 1 is 1 - 2**-11, about 0.9995")
        effect = (f"so the loss takes the probability path: {head.dtype}-rounded "
                  f"probabilities ({rounding}) clipped into [1e-7, 1 - 1e-7], a wrong, capped "
                  "loss with a zero gradient where the clip bites, and no warning")
    return [Finding(
        "float16-probability-output",
        f"The last layer, {head.shown}, computes in {head.dtype} (mixed precision) and ends in a "
        f"{act}: Keras casts its output to float32 before {shown}, the cast hides the "
        f"pre-activations, {effect}.",
        f'Compute the output in float32: give the last layer dtype="float32" (or end with '
        f'keras.layers.Activation("{act}", dtype="float32")), or output logits with '
        "from_logits=True.")]


def diagnose_model(model, *, y=None, class_weight=None, sample_weight=None) -> list[Finding]:
    """Findings for a compiled Keras ``model``, in the order of ``CODES``; [] if nothing is off.

    ``y``, ``class_weight`` and ``sample_weight`` are what you will pass to ``model.fit``
    (``y`` as an array; a ``tf.data.Dataset`` is not inspected). Reads ``model.layers[-1]``
    (activation, units, compute dtype), ``model.loss`` and ``model.get_compile_config()``
    (metrics). Raises ``ValueError`` for an uncompiled model.
    """
    from course_lib.tf_setup import import_keras

    keras = import_keras()
    if not isinstance(model, keras.Model):
        raise ValueError(f"diagnose_model: model must be a Keras model; got "
                         f"{type(model).__name__}.")
    if not model.compiled:
        raise ValueError("diagnose_model needs a compiled model: call model.compile(optimizer="
                         "..., loss=..., metrics=[...]) first; this model is not compiled.")
    if class_weight is not None and not isinstance(class_weight, dict):
        raise ValueError("diagnose_model: class_weight must be a dict {class id: weight}; got "
                         f"{type(class_weight).__name__}.")
    targets = _array(y, "y")
    weights = _array(sample_weight, "sample_weight")
    head = read_head(model, keras)
    loss = read_loss(model.loss, keras, head, targets)
    findings = (_check_single_unit(head, loss) + _check_activation_vs_loss(head, loss)
                + _check_metrics(head, loss, _metric_entries(model), targets)
                + _check_weights(head, loss, targets, class_weight, weights)
                + _check_half(head, loss))
    return sorted(findings, key=lambda f: CODES.index(f.code))
