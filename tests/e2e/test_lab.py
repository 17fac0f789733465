"""The widgets embedded in the lessons: open a lesson in JupyterLab, run all cells, move each of
its experiment's controls, and compare what it prints with what course_lib computes."""

from __future__ import annotations

import re

import pytest
from e2e_ui import printed, set_slider, widget_box
from playwright.sync_api import expect

from course_lib import widgets

# lesson, the experiment's first slider (finds it), then each move: (control, value, what
# course_lib computes once this and every earlier move are made)
LESSON_WIDGETS = [
    ("notebooks/01_logits.ipynb", "temperature T",
     [("temperature T", "2.5", lambda: widgets.softmax_explorer(temperature=2.5))]),
    ("notebooks/02_sigmoid_is_the_two_class_softmax.ipynb", "logit x",
     [("logit x", "-2.5", lambda: widgets.sigmoid_vs_softmax(-2.5))]),
    ("notebooks/03_softmax_and_soft_labels.ipynb", "smoothing ls",
     [("smoothing ls", "0.3", lambda: widgets.label_smoothing(0.3, num_classes=10)),
      ("classes C", "4", lambda: widgets.label_smoothing(0.3, num_classes=4)),
      ("family", "sigmoid", lambda: widgets.label_smoothing(0.3, num_classes=4,
                                                            kind="sigmoid"))]),
    ("notebooks/05_weights.ipynb", "pos_weight",
     [("pos_weight", "6", lambda: widgets.imbalance(6.0))]),
    ("notebooks/06_sampled_softmax.ipynb", "num_sampled",
     [("num_sampled", "50", lambda: widgets.sampled_softmax(50))]),
]


def run_all(page) -> None:
    status = page.locator("#jp-main-statusbar")
    # "| Idle" only once a kernel is attached (an early Run All would restart it)
    expect(status).to_contain_text("Python 3 (ipykernel) | Idle")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    # every cell ran (the last one has its number), or Run All stopped at an error
    done = page.locator(".jp-CodeCell .jp-InputPrompt").last \
        .filter(has_text=re.compile(r"\[\d+\]"))
    # Lab renders an error as stderr text: IPython's traceback heading tells it from a warning
    error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                         has_text="Traceback (most recent call last)")
    expect(done.or_(error).first).to_be_visible()
    assert not error.count(), f"a cell raised: {error.first.inner_text()[-1500:]}"
    expect(status).to_contain_text("| Idle")


@pytest.mark.parametrize(("lab_notebook", "first", "moves"), LESSON_WIDGETS,
                         indirect=["lab_notebook"],
                         ids=[lesson.split("/")[-1] for lesson, *_ in LESSON_WIDGETS])
def test_lesson_widget_shows_what_course_lib_computes(page, lab_notebook, first, moves):
    page.goto(lab_notebook)
    run_all(page)
    box = widget_box(page, first)
    expect(printed(box)).to_be_visible()                          # drawn at its start value
    for control, value, expected in moves:
        if control == "family":
            box.locator(f'.widget-dropdown:has(.widget-label:text-is("{control}")) select') \
                .select_option(label=value)
        else:
            set_slider(box, control, value)
        expect(printed(box), f"after {control} = {value}").to_have_text(expected().summary())
