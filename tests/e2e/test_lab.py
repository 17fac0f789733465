"""A learner's path: open a lesson in JupyterLab, run all cells, move a widget's slider."""

from __future__ import annotations

import re

import pytest
from e2e_ui import printed, set_slider, widget_box
from playwright.sync_api import expect

from course_lib import widgets

# lesson, slider label, value typed into its readout, what course_lib computes for that value
LESSON_WIDGETS = [
    ("notebooks/01_logits.ipynb", "temperature T", "2.5",
     lambda: widgets.softmax_explorer(temperature=2.5)),
    ("notebooks/05_weights.ipynb", "pos_weight", "6", lambda: widgets.imbalance(6.0)),
]


@pytest.mark.parametrize(("lab_notebook", "label", "value", "expected"), LESSON_WIDGETS,
                         indirect=["lab_notebook"],
                         ids=[lesson.split("/")[-1] for lesson, *_ in LESSON_WIDGETS])
def test_lesson_widget_shows_what_course_lib_computes(page, lab_notebook, label, value,
                                                      expected):
    page.goto(lab_notebook)
    status = page.locator("#jp-main-statusbar")
    # "| Idle" only once a kernel is attached (an early Run All would restart it)
    expect(status).to_contain_text("Python 3 (ipykernel) | Idle")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    last_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").last
    expect(last_prompt).to_have_text(re.compile(r"\[\d+\]"))    # every cell ran
    expect(status).to_contain_text("| Idle")
    box = widget_box(page, label)
    expect(printed(box)).to_contain_text(label.split()[0])        # drawn at its start value
    set_slider(box, label, value)
    expect(printed(box)).to_have_text(expected().summary())
