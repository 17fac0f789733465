"""Class imbalance: how ``pos_weight`` moves the decision threshold, precision and recall.

A fixed one-feature data set with 10% positives (negatives ~ N(0, 1), positives ~ N(1.5, 1))
is fitted with a linear logit ``s = w·x + b`` minimising the mean of
``tf.nn.weighted_cross_entropy_with_logits``,

    L(w, b) = mean_i [ q·z_i·softplus(-s_i) + (1 - z_i)·softplus(s_i) ]

by Newton's method (L is convex; 6-10 steps reach machine precision), with

    dL/ds_i = (1 - z_i)·σ(s_i) - q·z_i·σ(-s_i),    d²L/ds_i² = ((1 - z_i) + q·z_i)·σ(s_i)·σ(-s_i)

The model predicts "positive" where s > 0, i.e. x > -b/w: the decision threshold. A larger
pos_weight q makes a missed positive cost more, so the threshold moves down into the
negatives: recall rises, precision falls. (For a well-specified model the optimal bias moves
by about log q, i.e. thresholding the unweighted model's probability at 1 / (1 + q).)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from course_lib import nn
from course_lib.widgets import _ui

POS_WEIGHTS = (0.5, 20.0)   # the slider's range
NUM_EXAMPLES, NUM_POSITIVES, SEPARATION = 400, 40, 1.5


@cache
def imbalanced_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(x, z)``: 400 examples of one feature, 40 of them positive (z = 1), fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    z = np.zeros(NUM_EXAMPLES)
    z[rng.choice(NUM_EXAMPLES, NUM_POSITIVES, replace=False)] = 1.0
    x = rng.standard_normal(NUM_EXAMPLES) + SEPARATION * z
    x.flags.writeable = z.flags.writeable = False   # cached: nobody may change them
    return x, z


def fit_weighted_logistic(x: np.ndarray, z: np.ndarray, pos_weight: float,
                          max_steps: int = 50) -> tuple[float, float]:
    """``(w, b)`` minimising the mean weighted CE of ``w·x + b`` (Newton's method, see above)."""
    features = np.stack([x, np.ones_like(x)], axis=1)            # [n, 2]: x and the bias input
    theta = np.zeros(2)
    for _ in range(max_steps):
        s = features @ theta
        _, d_s = nn.weighted_cross_entropy_with_logits_grad(z, s, pos_weight)
        curvature = ((1 - z) + pos_weight * z) * nn.sigmoid(s) * nn.sigmoid(-s)
        gradient = features.T @ d_s / len(x)
        hessian = (features * curvature[:, None]).T @ features / len(x)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return float(theta[0]), float(theta[1])


@dataclass(frozen=True, eq=False)
class Imbalance:
    """The fitted model for one pos_weight and its test on the same data."""

    pos_weight: float
    weight: float            # w
    bias: float              # b
    threshold: float         # -b / w: predict positive for x above it
    confusion: np.ndarray    # [[TN, FP], [FN, TP]] (rows: actual 0, 1; columns: predicted)
    precision: float         # TP / (TP + FP), 0 when nothing is predicted positive
    recall: float            # TP / (TP + FN)

    def summary(self) -> str:
        """The lines the widget prints."""
        (tn, fp), (fn, tp) = self.confusion
        return "\n".join([
            f"pos_weight q = {self.pos_weight:.2f}",
            f"fitted logit = {self.weight:.4f}·x {'-' if self.bias < 0 else '+'} "
            f"{abs(self.bias):.4f}; "
            f"predict positive for x > {self.threshold:.4f}",
            "              predicted 0  predicted 1",
            f"actual 0      {tn:>11d}  {fp:>11d}",
            f"actual 1      {fn:>11d}  {tp:>11d}",
            f"precision = {self.precision:.4f}   recall = {self.recall:.4f}",
        ])


@cache
def imbalance(pos_weight: float = 1.0) -> Imbalance:
    """Fit the fixed data set with ``pos_weight`` and score the model (see the module doc)."""
    if not pos_weight > 0:
        raise ValueError(f"`pos_weight` must be > 0; got {pos_weight}.")
    x, z = imbalanced_data()
    w, b = fit_weighted_logistic(x, z, pos_weight)
    predicted = (w * x + b) > 0
    actual = z.astype(bool)
    confusion = np.array([[np.sum(~actual & ~predicted), np.sum(~actual & predicted)],
                          [np.sum(actual & ~predicted), np.sum(actual & predicted)]])
    tp, fp, fn = confusion[1, 1], confusion[0, 1], confusion[1, 0]
    precision = tp / (tp + fp) if tp + fp else 0.0
    return Imbalance(float(pos_weight), w, b, -b / w, confusion, float(precision),
                     float(tp / (tp + fn)))


def _draw(r: Imbalance) -> Any:
    """Left: the data by class with the threshold; right: precision and recall against q."""
    fig, (ax1, ax2) = _ui.subplots(2)
    x, z = imbalanced_data()
    bins = np.linspace(x.min(), x.max(), 31)
    ax1.hist(x[z == 0], bins, color="0.65", label="negatives (360)")
    ax1.hist(x[z == 1], bins, color="tab:red", alpha=0.8, label="positives (40)")
    ax1.axvline(r.threshold, color="k", ls="--", label=f"threshold x = {r.threshold:.2f}")
    ax1.set(xlabel="feature x", ylabel="examples", title=f"pos_weight = {r.pos_weight:.2f}")
    ax1.legend(fontsize=8)
    grid = np.geomspace(*POS_WEIGHTS, 25)
    fits = [imbalance(float(q)) for q in grid]
    ax2.plot(grid, [f.precision for f in fits], "o-", ms=3, label="precision")
    ax2.plot(grid, [f.recall for f in fits], "s-", ms=3, label="recall")
    ax2.axvline(r.pos_weight, color="k", ls="--", lw=0.8)
    ax2.set(xscale="log", xlabel="pos_weight", ylim=(0, 1.02), title="on the training data")
    ax2.legend(fontsize=8)
    return fig


def imbalance_figure(pos_weight: float = 1.0) -> Any:
    """The widget's figure at ``pos_weight`` (the static fallback for readers without a kernel)."""
    return _draw(imbalance(pos_weight))


def imbalance_widget(pos_weight: float = 1.0) -> Any:
    """A pos_weight slider; prints :meth:`Imbalance.summary` (confusion matrix included)."""
    controls = {"pos_weight": _ui.float_slider("pos_weight", pos_weight, *POS_WEIGHTS, 0.5)}

    def draw(pos_weight: float) -> tuple[str, Any]:
        r = imbalance(pos_weight)
        return r.summary(), _draw(r)

    return _ui.experiment("Class imbalance and pos_weight", controls, draw)
