"""The apps as web pages (Voilà): the chooser wizard and the six experiments."""

from __future__ import annotations

from e2e_ui import printed, set_slider, widget_box
from playwright.sync_api import expect

from course_lib import widgets
from course_lib.widgets.wizard import DEFAULTS, wizard_text


def choose(page, label: str, option: str) -> None:
    page.locator(f'.widget-dropdown:has(.widget-label:text-is("{label}")) select') \
        .select_option(label=option)


def test_chooser_app_answers_as_choose_loss(page, voila_server):
    page.goto(f"{voila_server}/voila/render/chooser.ipynb")
    answer = page.locator("pre.loss-choice")
    expect(answer).to_have_text(wizard_text(**DEFAULTS))
    # multi-hot labels mean independent classes: the wizard sets that menu itself
    choose(page, "labels", "multi_hot")
    expect(page.locator(".wizard-note")).to_contain_text("classes set to independent")
    expect(answer).to_have_text(wizard_text(**{**DEFAULTS, "exclusive": False,
                                               "labels": "multi_hot"}))
    classes = page.locator('.widget-dropdown:has(.widget-label:text-is("classes")) select')
    expect(classes.locator("option:checked")).to_have_text(
        "independent: any subset of classes (multi-label)")
    number = page.locator('.widget-text:has(.widget-label:text-is("num_classes")) input')
    number.fill("14")
    number.press("Enter")
    choose(page, "weighting", "per_class")
    expected = wizard_text(exclusive=False, num_classes=14, labels="multi_hot",
                           weighting="per_class")
    expect(answer).to_have_text(expected)
    expect(answer).to_contain_text("tf.nn.weighted_cross_entropy_with_logits")


# slider label, value typed, what course_lib computes for it
EXPERIMENTS = [
    ("temperature T", "2.5", lambda: widgets.softmax_explorer(temperature=2.5)),
    ("logit scale", "12", lambda: widgets.from_logits_trap(12.0)),
    ("logit x", "-2.5", lambda: widgets.sigmoid_vs_softmax(-2.5)),
    ("smoothing ls", "0.3", lambda: widgets.label_smoothing(0.3)),
    ("pos_weight", "6", lambda: widgets.imbalance(6.0)),
    ("num_sampled", "50", lambda: widgets.sampled_softmax(50)),
]


def test_each_experiment_follows_its_slider(page, voila_server):
    page.goto(f"{voila_server}/voila/render/experiments.ipynb")
    for label, value, expected in EXPERIMENTS:
        box = widget_box(page, label)
        expect(printed(box)).to_be_visible()
        set_slider(box, label, value)
        expect(printed(box), f"the {label!r} experiment").to_have_text(expected().summary())
