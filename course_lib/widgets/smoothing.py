"""Label smoothing: the smoothed target, the loss it gives and the confidence it rewards.

With smoothing ``ls`` the one-hot target of the true class becomes (Keras' two formulas)

    softmax family, C classes:   t = (1 - ls)·onehot + ls / C
    sigmoid family, label 1:     t = (1 - ls)·1 + ls / 2 = 1 - ls / 2

Cross-entropy ``-Σ t log p`` is smallest when ``p = t``, where it equals the entropy H(t) of
the target, not 0. So the model is rewarded for a confidence of ``t_true`` and no more: with
logits ``[m, 0, ..., 0]`` the best margin is ``m* = log(t_true / t_other)``, finite for any
``ls > 0``; without smoothing the loss keeps falling as m grows, so the logits grow forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from course_lib import nn
from course_lib.widgets import _ui

KINDS = ("softmax", "sigmoid")
MARGINS = (-2.0, 12.0)   # the logit range of the loss curve
CONFIDENT_MARGIN = 10.0  # a "very sure" model, to show what smoothing charges it


@dataclass(frozen=True, eq=False)
class LabelSmoothing:
    """The smoothed target for true class 0 and the optimum of the loss."""

    smoothing: float
    num_classes: int
    kind: str
    target: np.ndarray          # t, [C] (softmax) or [t, 1 - t] (sigmoid: positive, negative)
    optimal_probability: float  # t_true: the confidence the loss rewards
    optimal_margin: float       # m* = log(t_true / t_other), inf without smoothing
    min_loss: float             # H(t), the loss at the optimum
    confident_loss: float       # the loss at margin CONFIDENT_MARGIN

    def loss_curve(self, margins: ArrayLike) -> np.ndarray:
        """The loss for logits ``[m, 0, ..., 0]`` (softmax) or the logit m (sigmoid)."""
        return _loss_curve(self.target, self.kind, margins)

    def summary(self) -> str:
        """The lines the widget prints."""
        classes = (f"softmax over C = {self.num_classes} classes (true class 0)"
                   if self.kind == "softmax" else "sigmoid, a positive example")
        target = " ".join(f"{t:.4f}" for t in self.target)
        return "\n".join([
            f"label smoothing ls = {self.smoothing:.2f}, {classes}",
            f"target: {target}",
            f"the loss is lowest at p(true) = {self.optimal_probability:.4f}, "
            f"logit margin {self.optimal_margin:.4f}, where it is {self.min_loss:.4f}",
            f"a confident model (margin {CONFIDENT_MARGIN:g}) pays {self.confident_loss:.4f}",
        ])


def _loss_curve(target: np.ndarray, kind: str, margins: ArrayLike) -> np.ndarray:
    """Cross-entropy against ``target`` of logits ``[m, 0, ..., 0]`` or of the sigmoid logit m."""
    m = np.asarray(margins, dtype=np.float64).reshape(-1)
    if kind == "sigmoid":
        return nn.sigmoid_cross_entropy_with_logits(np.full_like(m, target[0]), m)
    logits = np.zeros((m.size, target.size))
    logits[:, 0] = m
    return nn.softmax_cross_entropy_with_logits(np.broadcast_to(target, logits.shape), logits)


def _entropy(t: np.ndarray) -> float:
    """H(t) = -Σ t log t, with 0·log 0 = 0."""
    t = t[t > 0]
    return float(-np.sum(t * np.log(t))) + 0.0   # + 0.0: print 0, not -0, for one-hot


def label_smoothing(smoothing: float = 0.1, num_classes: int = 5,
                    kind: str = "softmax") -> LabelSmoothing:
    """The target, optimum and losses for ``ls = smoothing`` (see the module docstring)."""
    if not 0 <= smoothing <= 1:
        raise ValueError(f"`smoothing` must be in [0, 1]; got {smoothing}.")
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {KINDS}; got {kind!r}.")
    if kind == "softmax" and num_classes < 2:
        raise ValueError(f"`num_classes` must be >= 2 for softmax; got {num_classes}.")
    if kind == "softmax":
        target = np.full(num_classes, smoothing / num_classes)
        target[0] += 1 - smoothing
    else:
        target = np.array([1 - smoothing / 2, smoothing / 2])
    with np.errstate(divide="ignore"):
        margin = float(np.log(target[0]) - np.log(target[1]))   # inf when ls = 0
    confident = float(_loss_curve(target, kind, [CONFIDENT_MARGIN])[0])
    return LabelSmoothing(float(smoothing), int(num_classes), kind, target, float(target[0]),
                          margin, _entropy(target), confident)


def _draw(r: LabelSmoothing) -> Any:
    """Left: the target distribution; right: loss against margin with its minimum marked."""
    fig, (ax1, ax2) = _ui.subplots(2)
    labels = (list(range(r.num_classes)) if r.kind == "softmax" else ["positive", "negative"])
    ax1.bar(range(len(r.target)), r.target, color=["tab:orange"] + ["tab:blue"] * (
        len(r.target) - 1))
    ax1.set(xticks=range(len(r.target)), xticklabels=labels, ylim=(0, 1),
            ylabel="target probability", title=f"smoothed target, ls = {r.smoothing:.2f}")
    margins = np.linspace(*MARGINS, 141)
    ax2.plot(margins, r.loss_curve(margins), label=f"ls = {r.smoothing:.2f}")
    if r.smoothing > 0:
        ax2.plot(margins, label_smoothing(0.0, r.num_classes, r.kind).loss_curve(margins),
                 "k--", lw=1, label="ls = 0 (no smoothing)")
    if np.isfinite(r.optimal_margin) and r.optimal_margin <= MARGINS[1]:
        ax2.plot([r.optimal_margin], [r.min_loss], "o", color="tab:red",
                 label=f"minimum: p(true) = {r.optimal_probability:.3f}")
    ax2.set(xlabel="logit margin of the true class", ylabel="loss",
            title="the loss rewards confidence up to t_true")
    ax2.legend(fontsize=8)
    return fig


def label_smoothing_figure(smoothing: float = 0.1, num_classes: int = 5,
                           kind: str = "softmax") -> Any:
    """The widget's figure for these values (the static fallback for readers without a kernel)."""
    return _draw(label_smoothing(smoothing, num_classes, kind))


def label_smoothing_widget(smoothing: float = 0.1, num_classes: int = 5,
                           kind: str = "softmax") -> Any:
    """Sliders for ls and C, a softmax/sigmoid menu; prints :meth:`LabelSmoothing.summary`."""
    controls = {"smoothing": _ui.float_slider("smoothing ls", smoothing, 0.0, 1.0, 0.05),
                "num_classes": _ui.int_slider("classes C", num_classes, 2, 10),
                "kind": _ui.dropdown("family", list(KINDS), kind)}

    def draw(smoothing: float, num_classes: int, kind: str) -> tuple[str, Any]:
        r = label_smoothing(smoothing, num_classes, kind)
        return r.summary(), _draw(r)

    return _ui.experiment("Label smoothing", controls, draw)
