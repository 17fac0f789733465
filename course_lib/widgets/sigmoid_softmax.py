"""Sigmoid vs two-class softmax: one logit, two formulas, the same numbers.

Give the second class the logit 0. Then

    softmax([x, 0])_0 = e^x / (e^x + e^0) = 1 / (1 + e^-x) = σ(x)

and so the two-class softmax cross-entropy of label 0 ("class 0 is true") equals the sigmoid
cross-entropy of label 1, ``softplus(-x)``, and label 1 gives ``softplus(x)`` on both sides.
A binary problem needs one logit, not two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from course_lib import nn
from course_lib.widgets import _ui

LOGIT_RANGE = (-8.0, 8.0)


@dataclass(frozen=True, eq=False)
class SigmoidVsSoftmax:
    """Both formulas at one logit x, for a positive (z = 1) and a negative (z = 0) example."""

    logit: float
    sigmoid: float            # σ(x)
    softmax: float            # softmax([x, 0])_0
    sigmoid_loss_pos: float   # sigmoid CE, label 1: softplus(-x)
    softmax_loss_pos: float   # two-class softmax CE, true class 0
    sigmoid_loss_neg: float   # sigmoid CE, label 0: softplus(x)
    softmax_loss_neg: float   # two-class softmax CE, true class 1

    def summary(self) -> str:
        """The lines the widget prints."""
        return "\n".join([
            f"logit x = {self.logit:.2f}",
            f"sigmoid(x)         = {self.sigmoid:.6f}",
            f"softmax([x, 0])[0] = {self.softmax:.6f}",
            f"positive example: sigmoid CE {self.sigmoid_loss_pos:.4f}"
            f"   two-class softmax CE {self.softmax_loss_pos:.4f}",
            f"negative example: sigmoid CE {self.sigmoid_loss_neg:.4f}"
            f"   two-class softmax CE {self.softmax_loss_neg:.4f}",
        ])


def sigmoid_vs_softmax_curves(logits: ArrayLike) -> dict[str, np.ndarray]:
    """The four quantities for every x in ``logits``: σ(x), softmax([x, 0])_0 and both losses."""
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    pairs = np.stack([x, np.zeros_like(x)], axis=-1)             # [n, 2] logits [x, 0]
    ones = np.ones_like(x)
    return {
        "sigmoid": nn.sigmoid(x),
        "softmax": nn.softmax(pairs)[:, 0],
        "sigmoid_loss_pos": nn.sigmoid_cross_entropy_with_logits(ones, x),
        "softmax_loss_pos": nn.sparse_softmax_cross_entropy_with_logits(np.zeros(x.size, int),
                                                                        pairs),
        "sigmoid_loss_neg": nn.sigmoid_cross_entropy_with_logits(0 * ones, x),
        "softmax_loss_neg": nn.sparse_softmax_cross_entropy_with_logits(np.ones(x.size, int),
                                                                        pairs),
    }


def sigmoid_vs_softmax(logit: float = 1.5) -> SigmoidVsSoftmax:
    """Both formulas at the logit x (see the module docstring for why they agree)."""
    values = sigmoid_vs_softmax_curves([logit])
    return SigmoidVsSoftmax(float(logit), **{k: float(v[0]) for k, v in values.items()})


def _draw(r: SigmoidVsSoftmax) -> Any:
    """Left: σ(x) and softmax([x, 0])_0; right: the losses. The current x is marked."""
    fig, (ax1, ax2) = _ui.subplots(2)
    xs = np.linspace(*LOGIT_RANGE, 161)
    c = sigmoid_vs_softmax_curves(xs)
    ax1.plot(xs, c["sigmoid"], lw=5, alpha=0.35, label="sigmoid(x)")
    ax1.plot(xs, c["softmax"], "k--", lw=1, label="softmax([x, 0])[0]")
    ax1.plot([r.logit], [r.sigmoid], "o", color="tab:red")
    ax1.set(xlabel="logit x", ylabel="probability of the positive class",
            title=f"x = {r.logit:.2f}: both give {r.sigmoid:.4f}")
    ax1.legend(fontsize=8)
    for sign, word, colour in (("pos", "positive", "tab:blue"), ("neg", "negative", "tab:green")):
        ax2.plot(xs, c[f"sigmoid_loss_{sign}"], lw=5, alpha=0.35, color=colour,
                 label=f"sigmoid CE, {word} example")
        ax2.plot(xs, c[f"softmax_loss_{sign}"], "--", lw=1, color="k")
        ax2.plot([r.logit], [getattr(r, f"sigmoid_loss_{sign}")], "o", color="tab:red")
    ax2.set(xlabel="logit x", ylabel="loss", title="losses (dashed: two-class softmax CE)")
    ax2.legend(fontsize=8)
    return fig


def sigmoid_vs_softmax_figure(logit: float = 1.5) -> Any:
    """The widget's figure at ``logit`` (the static fallback for readers without a kernel)."""
    return _draw(sigmoid_vs_softmax(logit))


def sigmoid_vs_softmax_widget(logit: float = 1.5) -> Any:
    """One logit slider; prints :meth:`SigmoidVsSoftmax.summary` above both curves."""
    controls = {"logit": _ui.float_slider("logit x", logit, *LOGIT_RANGE, 0.1)}

    def draw(logit: float) -> tuple[str, Any]:
        r = sigmoid_vs_softmax(logit)
        return r.summary(), _draw(r)

    return _ui.experiment("Sigmoid vs two-class softmax", controls, draw)
