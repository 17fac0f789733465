"""The from_logits trap: logits or probabilities, into a Keras loss told True or False.

Four combinations for each Keras loss (values from ``course_lib.keras_losses``, which equal
Keras on plain arrays); the right answer is the cross-entropy of the logits, ``lse(x) - x_y``:

    logits,        from_logits=True    right
    probabilities, from_logits=False   right, except that Keras clips p into [1e-7, 1 - 1e-7],
                                       so each term is capped at -log 1e-7 = 16.118
    logits,        from_logits=False   wrong: the logits are read as probabilities (clipped,
                                       renormalised): the loss is unrelated to the model
    probabilities, from_logits=True    wrong: softmax/sigmoid applied twice; every p lies in
                                       [0, 1], so the loss is squashed towards log C (log 2)

The logits are a fixed pattern times a scale: the larger the scale, the more confident the
model and the further the wrong combinations drift from the right one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import keras_losses, nn
from course_lib.widgets import _ui

LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy")
COMBINATIONS = (("logits", True), ("probabilities", False), ("logits", False),
                ("probabilities", True))
SCALES = (0.5, 20.0)
# Four examples, three classes; two are predicted wrongly, so the loss grows with the scale.
BASE_LOGITS = np.array([[2.0, -1.0, 0.5], [-0.5, 1.5, 0.0], [0.3, -2.0, 1.0],
                        [1.0, 0.2, -0.7]], np.float32)
CLASS_IDS = np.array([0, 0, 2, 1])
BINARY_LOGITS = np.array([[2.0], [-1.5], [0.5], [-3.0]], np.float32)
BINARY_LABELS = np.array([[1.0], [0.0], [0.0], [1.0]], np.float32)
RIGHT_TOLERANCE = 1e-4   # |error| below this counts as right (float32 rounding)


def trap_inputs(loss: str, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y_true, logits, probabilities)`` in float32 for ``loss`` at ``scale``."""
    if loss == "binary_crossentropy":
        logits = np.float32(scale) * BINARY_LOGITS
        return BINARY_LABELS, logits, nn.sigmoid(logits)
    logits = np.float32(scale) * BASE_LOGITS
    labels = (CLASS_IDS if loss == "sparse_categorical_crossentropy"
              else np.eye(3, dtype=np.float32)[CLASS_IDS])
    return labels, logits, nn.softmax(logits)


def _verdict(kind: str, from_logits: bool, error: float, activation: str) -> str:
    """Right, right but clipped, or which of the two mistakes (see the module docstring)."""
    if kind == "logits":
        return "right" if from_logits else "wrong: logits read as probabilities"
    if from_logits:
        return f"wrong: {activation} applied twice"
    return "right" if abs(error) < RIGHT_TOLERANCE else "right but clipped at 1e-7"


@dataclass(frozen=True, eq=False)
class FromLogitsTrap:
    """The batch-mean loss of each combination, against the right value."""

    loss: str
    scale: float
    right: float                                  # mean CE of the logits
    values: dict[tuple[str, bool], float]         # (y_pred kind, from_logits) -> mean loss
    verdicts: dict[tuple[str, bool], str]

    def error(self, kind: str, from_logits: bool) -> float:
        """How far a combination is from the right loss (value - right)."""
        return self.values[kind, from_logits] - self.right

    def summary(self) -> str:
        """The table the widget prints."""
        lines = [f"keras.losses.{self.loss}, logit scale {self.scale:.1f}: "
                 f"right loss {self.right:.4f}",
                 "y_pred         from_logits      loss     error  verdict"]
        for kind, flag in COMBINATIONS:
            lines.append(f"{kind:<14} {flag!s:<11} {self.values[kind, flag]:>9.4f} "
                         f"{self.error(kind, flag):>+9.4f}  {self.verdicts[kind, flag]}")
        return "\n".join(lines)


def from_logits_trap(scale: float = 5.0,
                     loss: str = "categorical_crossentropy") -> FromLogitsTrap:
    """Each combination's batch-mean loss for the fixed logits times ``scale``."""
    if loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {LOSSES}; got {loss!r}.")
    if not scale > 0:
        raise ValueError(f"`scale` must be > 0; got {scale}.")
    fn = getattr(keras_losses, loss)
    y_true, logits, probs = trap_inputs(loss, scale)
    inputs = {"logits": logits, "probabilities": probs}
    values = {(kind, flag): float(np.mean(fn(y_true, inputs[kind], from_logits=flag)))
              for kind, flag in COMBINATIONS}
    right = values["logits", True]
    activation = "sigmoid" if loss == "binary_crossentropy" else "softmax"
    verdicts = {(kind, flag): _verdict(kind, flag, values[kind, flag] - right, activation)
                for kind, flag in COMBINATIONS}
    return FromLogitsTrap(loss, float(scale), right, values, verdicts)


def _draw(r: FromLogitsTrap) -> Any:
    """Left: the four losses against the right one; right: their errors against the scale."""
    fig, (ax1, ax2) = _ui.subplots(2)
    names = [f"{kind}\nfrom_logits={flag}" for kind, flag in COMBINATIONS]
    colours = ["tab:green" if r.verdicts[c].startswith("right") else "tab:red"
               for c in COMBINATIONS]
    ax1.bar(range(4), [r.values[c] for c in COMBINATIONS], color=colours)
    ax1.axhline(r.right, color="k", ls="--", lw=1, label=f"right loss {r.right:.3f}")
    ax1.set_xticks(range(4), names, fontsize=7)
    ax1.set(ylabel="batch-mean loss", title=f"{r.loss}, scale {r.scale:.1f}")
    ax1.legend(fontsize=8)
    scales = np.linspace(*SCALES, 40)
    sweep = [from_logits_trap(float(s), r.loss) for s in scales]
    for c, name in zip(COMBINATIONS, names, strict=True):
        ax2.plot(scales, [t.error(*c) for t in sweep], label=name.replace("\n", ", "))
    ax2.axvline(r.scale, color="k", ls="--", lw=0.8)
    ax2.set(xlabel="logit scale", ylabel="loss - right loss", title="error of each combination")
    ax2.legend(fontsize=7)
    return fig


def from_logits_figure(scale: float = 5.0, loss: str = "categorical_crossentropy") -> Any:
    """The widget's figure for these values (the static fallback for readers without a kernel)."""
    return _draw(from_logits_trap(scale, loss))


def from_logits_widget(scale: float = 5.0, loss: str = "categorical_crossentropy") -> Any:
    """A logit-scale slider and a loss menu; prints :meth:`FromLogitsTrap.summary`."""
    controls = {"scale": _ui.float_slider("logit scale", scale, *SCALES, 0.5, ".1f"),
                "loss": _ui.dropdown("Keras loss", list(LOSSES), loss)}

    def draw(scale: float, loss: str) -> tuple[str, Any]:
        r = from_logits_trap(scale, loss)
        return r.summary(), _draw(r)

    return _ui.experiment("The from_logits trap", controls, draw)
