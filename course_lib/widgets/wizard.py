"""The "which loss?" wizard: menus for the questions of ``choose_loss``, the answer below.

``wizard_text`` is the pure part (what the wizard prints for a set of answers, including the
ValueError's reason for a contradictory description); ``chooser_wizard`` is the widget.
"""

from __future__ import annotations

from typing import Any

from course_lib.chooser import LABELS, OUTPUTS, WEIGHTINGS, choose_loss

# The widget's HTML pane would otherwise set the text in a proportional font with wide lines.
ANSWER_HTML = ('<pre class="loss-choice" style="font-family: monospace; line-height: 1.35; '
               'white-space: pre-wrap">{}</pre>')
DEFAULTS = {"exclusive": True, "num_classes": 10, "labels": "int", "outputs": "logits",
            "weighting": "none", "huge_num_classes": False}


def wizard_text(*, exclusive: bool, num_classes: int, labels: str, outputs: str = "logits",
                weighting: str = "none", huge_num_classes: bool = False) -> str:
    """``str(choose_loss(...))``, or "Not a valid description: <why>" when it raises."""
    try:
        return str(choose_loss(exclusive=exclusive, num_classes=num_classes, labels=labels,
                               outputs=outputs, weighting=weighting,
                               huge_num_classes=huge_num_classes))
    except ValueError as err:
        return f"Not a valid description: {err}"


def chooser_wizard(**answers: Any) -> Any:
    """Menus for each question (start values from ``answers``) and the recommendation.

    The answer is an HTML ``<pre>`` (class ``loss-choice``) that updates on every change.
    """
    import html

    import ipywidgets as w

    from course_lib.widgets import _ui

    start = {**DEFAULTS, **answers}
    yes_no = [("exclusive: each example is exactly one class", True),
              ("independent: any subset of classes (multi-label)", False)]
    controls = {
        "exclusive": _ui.dropdown("classes", yes_no, start["exclusive"]),
        "num_classes": w.BoundedIntText(value=start["num_classes"], min=1, max=10**9,
                                        description="num_classes", style=_ui.STYLE),
        "labels": _ui.dropdown("labels", list(LABELS), start["labels"]),
        "outputs": _ui.dropdown("model outputs", list(OUTPUTS), start["outputs"]),
        "weighting": _ui.dropdown("weighting", list(WEIGHTINGS), start["weighting"]),
        "huge_num_classes": w.Checkbox(value=start["huge_num_classes"],
                                       description="huge_num_classes: sample the classes",
                                       indent=False, layout={"width": "auto"}),
    }
    answer = w.HTML()

    def update(_change: object = None) -> None:
        text = wizard_text(**{name: c.value for name, c in controls.items()})
        answer.value = ANSWER_HTML.format(html.escape(text))

    for control in controls.values():
        control.observe(update, names="value")
    update()
    return w.VBox([w.HTML("<b>Which cross-entropy? Describe your problem</b>"),
                   *controls.values(), answer])
