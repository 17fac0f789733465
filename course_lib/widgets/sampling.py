"""Sampled softmax: how ``num_sampled`` sets the bias and spread of the sampled loss.

A fixed problem of 1,000 classes (labels drawn with the Zipf-like log-uniform frequencies the
default sampler assumes) is scored three ways, per draw of candidates, as a batch mean:

    full loss        mean_b [logsumexp_k z_bk - z_b,y_b]           over all 1,000 classes
    sampled softmax  tf.nn.sampled_softmax_loss: softmax CE over the true class and the
                     num_sampled candidates, logits corrected by -log Q (expected counts)
    estimate         course_lib.nn.estimate_full_softmax_loss: an importance-sampled
                     log Z, nearly unbiased for the full loss

The sampled softmax loss is a *training* loss: its gradient pushes the right way, but its
value sits below the full loss (fewer competitors in the normaliser) by an amount that
shrinks as num_sampled grows. Do not report it as the model's loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from course_lib import nn
from course_lib.random import log_uniform_candidate_sampler, log_uniform_probabilities
from course_lib.widgets import _ui

NUM_CLASSES, DIM, BATCH = 1000, 16, 16
NUM_SAMPLED = (5, 500)   # the slider's range
NUM_DRAWS = 200


class SampledProblem(NamedTuple):
    """A last layer (weights [V, dim], biases [V]), its inputs [B, dim] and labels [B, 1]."""

    weights: np.ndarray
    biases: np.ndarray
    inputs: np.ndarray
    labels: np.ndarray


@cache
def sampled_problem(seed: int = 0) -> SampledProblem:
    """The fixed problem: each input points at its label's weight row (so it is learnable)."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(scale=0.3, size=(NUM_CLASSES, DIM))
    biases = np.zeros(NUM_CLASSES)
    labels = rng.choice(NUM_CLASSES, size=(BATCH, 1), p=log_uniform_probabilities(NUM_CLASSES))
    inputs = 2.0 * weights[labels[:, 0]] + rng.normal(scale=0.3, size=(BATCH, DIM))
    for arr in (weights, biases, inputs, labels):
        arr.flags.writeable = False   # cached: nobody may change them
    return SampledProblem(weights, biases, inputs, labels)


def full_loss(problem: SampledProblem) -> float:
    """The batch mean of the full softmax CE over all classes (what evaluation reports)."""
    logits = problem.inputs @ problem.weights.T + problem.biases
    return float(np.mean(nn.sparse_softmax_cross_entropy_with_logits(problem.labels[:, 0],
                                                                     logits)))


def draw_candidates(problem: SampledProblem, num_sampled: int, seed: int):
    """TF's default candidates: ``num_sampled`` unique log-uniform classes (seeded NumPy draw)."""
    return log_uniform_candidate_sampler(problem.labels, 1, num_sampled, True, NUM_CLASSES,
                                         seed=seed)


@dataclass(frozen=True, eq=False)
class SampledSoftmax:
    """The full loss and, for each of the draws, the sampled loss and the estimate."""

    num_sampled: int
    full_loss: float
    sampled: np.ndarray     # [draws]: batch mean of tf.nn.sampled_softmax_loss per draw
    estimated: np.ndarray   # [draws]: batch mean of estimate_full_softmax_loss per draw

    @property
    def sampled_bias(self) -> float:
        """mean(sampled) - full: negative, shrinking as num_sampled grows."""
        return float(self.sampled.mean() - self.full_loss)

    @property
    def estimated_bias(self) -> float:
        """mean(estimate) - full: close to 0."""
        return float(self.estimated.mean() - self.full_loss)

    def summary(self) -> str:
        """The lines the widget prints."""
        rows = [(name, values, values.mean() - self.full_loss)
                for name, values in (("sampled_softmax_loss", self.sampled),
                                     ("importance estimate", self.estimated))]
        return "\n".join([
            f"num_sampled = {self.num_sampled} of {NUM_CLASSES} classes, "
            f"{self.sampled.size} draws",
            f"full softmax loss      {self.full_loss:.4f}",
            *(f"{name:<22} mean {v.mean():.4f}  bias {bias:+.4f}  spread (std) {v.std():.4f}"
              for name, v, bias in rows),
        ])


@cache
def sampled_softmax(num_sampled: int = 20, num_draws: int = NUM_DRAWS,
                    seed: int = 0) -> SampledSoftmax:
    """Score the fixed problem over ``num_draws`` seeded draws (draw d uses seed ``seed + d``)."""
    if not 1 <= num_sampled <= NUM_CLASSES:
        raise ValueError(f"`num_sampled` must be in [1, {NUM_CLASSES}]; got {num_sampled}.")
    p = sampled_problem()
    proposal = log_uniform_probabilities(NUM_CLASSES)
    sampled, estimated = np.empty(num_draws), np.empty(num_draws)
    for d in range(num_draws):
        candidates = draw_candidates(p, num_sampled, seed + d)
        sampled[d] = nn.sampled_softmax_loss(p.weights, p.biases, p.labels, p.inputs,
                                             num_sampled, NUM_CLASSES,
                                             sampled_values=candidates).mean()
        estimated[d] = nn.estimate_full_softmax_loss(p.weights, p.biases, p.labels[:, 0],
                                                     p.inputs, num_sampled, proposal,
                                                     seed=seed + d).mean()
    return SampledSoftmax(int(num_sampled), full_loss(p), sampled, estimated)


def _draw(r: SampledSoftmax) -> Any:
    """Left: both distributions over the draws and the full loss; right: bias against S."""
    fig, (ax1, ax2) = _ui.subplots(2)
    bins = np.linspace(min(r.sampled.min(), r.estimated.min()),
                       max(r.sampled.max(), r.estimated.max(), r.full_loss), 40)
    ax1.hist(r.sampled, bins, alpha=0.7, label="sampled_softmax_loss")
    ax1.hist(r.estimated, bins, alpha=0.7, label="importance estimate")
    ax1.axvline(r.full_loss, color="k", ls="--", label=f"full loss {r.full_loss:.3f}")
    ax1.set(xlabel="batch-mean loss", ylabel="draws", title=f"num_sampled = {r.num_sampled}")
    ax1.legend(fontsize=8)
    grid = [5, 10, 20, 50, 100, 200, 500]
    fits = [sampled_softmax(s, 50) for s in grid]   # fewer draws: the curve is a sketch
    for name, attr in (("sampled_softmax_loss", "sampled"), ("importance estimate", "estimated")):
        bias = [getattr(f, attr).mean() - f.full_loss for f in fits]
        spread = [getattr(f, attr).std() for f in fits]
        ax2.errorbar(grid, bias, yerr=spread, marker="o", ms=3, capsize=2, label=name)
    ax2.axhline(0, color="k", lw=0.8)
    ax2.axvline(r.num_sampled, color="k", ls="--", lw=0.8)
    ax2.set(xscale="log", xlabel="num_sampled", ylabel="bias ± spread",
            title="mean - full loss over the draws")
    ax2.legend(fontsize=8)
    return fig


def sampled_softmax_figure(num_sampled: int = 20) -> Any:
    """The widget's figure at ``num_sampled`` (the static fallback for readers without a kernel)."""
    return _draw(sampled_softmax(num_sampled))


def sampled_softmax_widget(num_sampled: int = 20) -> Any:
    """A num_sampled slider; prints :meth:`SampledSoftmax.summary` (bias and spread)."""
    controls = {"num_sampled": _ui.int_slider("num_sampled", num_sampled, *NUM_SAMPLED, 5)}

    def draw(num_sampled: int) -> tuple[str, Any]:
        r = sampled_softmax(num_sampled)
        return r.summary(), _draw(r)

    return _ui.experiment("Sampled softmax: num_sampled", controls, draw)
