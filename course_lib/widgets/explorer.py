"""Softmax explorer: logits and a temperature give probabilities, the loss and its gradient.

The loss sees the logits divided by the temperature T, ``s = x / T``. For the target class y:

    p = softmax(s),     loss = -log p_y = logsumexp(s) - s_y,     d loss / d s = p - onehot(y)

A large T flattens ``p`` towards uniform (the loss tends to log C); a small T sharpens it
towards the largest logit. Each gradient entry lies in [-1, 1] whatever the logits: this is
the ``softmax - labels`` that TF's fused op returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from course_lib import nn
from course_lib.widgets import _ui

DEFAULT_LOGITS = (2.0, 1.0, 0.1)
# The temperature range of the widget and of the curves in the figure.
TEMPERATURES = (0.1, 5.0)


@dataclass(frozen=True, eq=False)
class SoftmaxExplorer:
    """What the softmax explorer shows for one setting of its sliders."""

    logits: np.ndarray      # x, [C]
    temperature: float      # T
    target: int             # y
    probs: np.ndarray       # softmax(x / T)
    loss: float             # -log p_y
    gradient: np.ndarray    # d loss / d (x / T) = p - onehot(y)

    def summary(self) -> str:
        """The table the widget prints: one row per class, then the loss."""
        lines = [f"temperature T = {self.temperature:.2f}, target class {self.target}",
                 "class   logit    prob  gradient"]
        for j, (x, p, g) in enumerate(zip(self.logits, self.probs, self.gradient, strict=True)):
            lines.append(f"{j:>5} {x:>7.2f} {p:>7.4f} {g:>+9.4f}")
        lines.append(f"loss = -log p[{self.target}] = {self.loss:.4f}")
        return "\n".join(lines)


def softmax_explorer(logits: ArrayLike = DEFAULT_LOGITS, temperature: float = 1.0,
                     target: int = 0) -> SoftmaxExplorer:
    """Probabilities, loss and gradient for logits ``x`` [C] at temperature T, target ``y``."""
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"`logits` must be a vector of at least 2 classes; got shape {x.shape}.")
    if not temperature > 0:
        raise ValueError(f"`temperature` must be > 0; got {temperature}.")
    if not 0 <= target < x.size:
        raise ValueError(f"`target` must be a class in [0, {x.size}); got {target}.")
    s = x / temperature
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad([target], s[None])
    return SoftmaxExplorer(x, float(temperature), int(target), nn.softmax(s), float(loss[0]),
                           grad[0])


def _draw(r: SoftmaxExplorer) -> Any:
    """Bars of p and of the gradient; p_j against T with the current T marked."""
    fig, (ax1, ax2) = _ui.subplots(2)
    classes = np.arange(r.logits.size)
    colours = ["tab:orange" if j == r.target else "tab:blue" for j in classes]
    ax1.bar(classes - 0.2, r.probs, width=0.4, color=colours, label="probability")
    ax1.bar(classes + 0.2, r.gradient, width=0.4, color="0.6", label="gradient p - onehot")
    ax1.axhline(0, color="k", lw=0.8)
    ax1.set(xticks=classes, xlabel="class (target in orange)", ylim=(-1.05, 1.05),
            title=f"T = {r.temperature:.2f}: loss {r.loss:.4f}")
    ax1.legend(loc="lower left", fontsize=8)
    temperatures = np.geomspace(*TEMPERATURES, 80)
    curves = nn.softmax(r.logits / temperatures[:, None])
    for j in classes:
        ax2.plot(temperatures, curves[:, j], label=f"class {j} (logit {r.logits[j]:.2f})")
    ax2.axvline(r.temperature, color="k", ls="--", lw=0.8)
    ax2.set(xscale="log", xlabel="temperature T", ylabel="softmax(x / T)", ylim=(0, 1),
            title="probabilities against temperature")
    ax2.legend(fontsize=8)
    return fig


def softmax_explorer_figure(logits: ArrayLike = DEFAULT_LOGITS, temperature: float = 1.0,
                            target: int = 0) -> Any:
    """The widget's figure for these values (the static fallback for readers without a kernel)."""
    return _draw(softmax_explorer(logits, temperature, target))


def softmax_explorer_widget(logits: ArrayLike = DEFAULT_LOGITS, temperature: float = 1.0,
                            target: int = 0) -> Any:
    """Sliders for each logit and T, a target menu; prints :meth:`SoftmaxExplorer.summary`."""
    x = [float(v) for v in logits]
    controls = {f"x{j}": _ui.float_slider(f"logit {j}", v, -6.0, 6.0, 0.1)
                for j, v in enumerate(x)}
    controls["temperature"] = _ui.float_slider("temperature T", temperature, *TEMPERATURES, 0.1)
    controls["target"] = _ui.dropdown("target class", list(range(len(x))), target)

    def draw(temperature: float, target: int, **xs: float) -> tuple[str, Any]:
        r = softmax_explorer([xs[f"x{j}"] for j in range(len(x))], temperature, target)
        return r.summary(), _draw(r)

    return _ui.experiment("Softmax explorer", controls, draw)
