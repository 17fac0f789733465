"""Locating and moving ipywidgets in JupyterLab and Voila pages (both render the same DOM)."""

from __future__ import annotations


def widget_box(page_or_locator, description: str):
    """The experiment (a VBox) whose control is labelled ``description``."""
    label = f'.widget-label:text-is("{description}")'
    return page_or_locator.locator(f".widget-vbox:has({label})").last


def set_slider(box, description: str, value: str) -> None:
    """Type ``value`` into the slider's readout and press Enter (a noUiSlider "change")."""
    readout = box.locator(f'.widget-slider:has(.widget-label:text-is("{description}")) '
                          ".widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.type(value)
    readout.press("Enter")


def printed(box):
    """The text the experiment printed into its Output (a <pre>)."""
    return box.locator(".widget-output [data-mime-type='application/vnd.jupyter.stdout']").last
