"""What every experiment widget shares: labelled controls and an output that redraws.

ipywidgets, IPython and matplotlib are imported inside these functions, never at module
level, so ``import course_lib`` (and ``course_lib.widgets``) stays NumPy-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# A description column wide enough for "num_sampled" so the sliders line up.
STYLE = {"description_width": "110px"}
_LAYOUT = {"width": "480px"}


def float_slider(description: str, value: float, low: float, high: float, step: float,
                 readout_format: str = ".2f") -> Any:
    """A FloatSlider that reports its value on release only.

    ``continuous_update=False``: a drag redraws the figure once, at the end, instead of on
    every pixel (a redraw costs ~0.1 s).
    """
    import ipywidgets as w

    return w.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                         readout_format=readout_format, continuous_update=False,
                         style=STYLE, layout=_LAYOUT)


def int_slider(description: str, value: int, low: int, high: int, step: int = 1) -> Any:
    """An IntSlider that reports its value on release only (see :func:`float_slider`)."""
    import ipywidgets as w

    return w.IntSlider(value=value, min=low, max=high, step=step, description=description,
                       continuous_update=False, style=STYLE, layout=_LAYOUT)


def dropdown(description: str, options: Any, value: Any) -> Any:
    """A Dropdown with the shared label width."""
    import ipywidgets as w

    return w.Dropdown(options=options, value=value, description=description, style=STYLE,
                      layout=_LAYOUT)


def figure_output(fig: Any) -> dict[str, Any]:
    """``fig`` as a Jupyter display_data output: a PNG (what the inline backend shows) + repr."""
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                     "text/plain": repr(fig)}}


def experiment(title: str, controls: Mapping[str, Any],
               draw: Callable[..., tuple[str, Any]]) -> Any:
    """``VBox(title, controls, output)``; the output shows ``draw(**values)`` = (text, figure).

    ``draw`` is called with each control's value under its key, once now and again whenever
    a value changes. The Output widget's ``outputs`` are replaced in one assignment (the text
    as a stdout stream, a ``<pre>`` the browser tests read, then the figure as a PNG) instead
    of printing inside ``with output:``: one update, no flicker, and nothing for a notebook
    runner to capture (nbclient fails on captured widget output when it stores no widget
    state, as ``make notebooks`` does).
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    out = w.Output()

    def redraw(_change: object = None) -> None:
        text, fig = draw(**{name: c.value for name, c in controls.items()})
        try:
            out.outputs = ({"output_type": "stream", "name": "stdout", "text": text + "\n"},
                           figure_output(fig))
        finally:
            plt.close(fig)  # pyplot must not show it again at the end of the cell

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HTML(f"<b>{title}</b>"), *controls.values(), out])


def subplots(ncols: int = 2, width: float = 10.0, height: float = 3.5) -> tuple[Any, Any]:
    """``plt.subplots(1, ncols)`` at the lessons' figure height, with tight layout."""
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height), layout="constrained")
