"""The "which loss?" wizard: menus for the questions of ``choose_loss``, the answer below.

``wizard_text`` is the pure part (what the wizard prints for a set of answers, including the
ValueError's reason for a contradictory description); ``chooser_wizard`` is the widget.

The label kind decides the class kind: multi-hot rows mark any subset of classes (independent
classes), and class ids, one-hot rows and probability rows name one class per example
(exclusive classes). So when a user changes one of the two menus, the wizard sets the other
to match (``labels_for`` / ``exclusive_for``) and says so, instead of showing an error until
the second menu is changed too.
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


def exclusive_for(labels: str) -> bool:
    """The class kind that ``labels`` implies: only multi-hot rows mean independent classes."""
    return labels != "multi_hot"


def labels_for(exclusive: bool, labels: str, exclusive_labels: str = "int") -> str:
    """The label kind to show once the class kind becomes ``exclusive``.

    ``labels`` is kept when it fits; otherwise independent classes get "multi_hot", and
    exclusive classes get ``exclusive_labels`` (the exclusive kind the user picked last).
    """
    if exclusive_for(labels) == exclusive:
        return labels
    return exclusive_labels if exclusive else "multi_hot"


def chooser_wizard(**answers: Any) -> Any:
    """Menus for each question (start values from ``answers``) and the recommendation.

    The answer is an HTML ``<pre>`` (class ``loss-choice``) that updates on every change.
    Changing the class kind or the label kind sets the other menu to match; a note above the
    answer (class ``wizard-note``) says which menu changed and why.
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
    answer, note = w.HTML(), w.HTML()
    classes, labels = controls["exclusive"], controls["labels"]
    # the exclusive label kind to come back to when the classes turn exclusive again
    remembered = {"labels": start["labels"] if exclusive_for(start["labels"]) else "int"}

    def say(text: str) -> None:
        note.value = f'<i class="wizard-note">{html.escape(text)}</i>' if text else ""

    def on_classes(change: Any) -> None:
        wanted = labels_for(change["new"], labels.value, remembered["labels"])
        if wanted != labels.value:
            labels.value = wanted
            kind = "exclusive" if change["new"] else "independent"
            say(f"labels set to {wanted} to match {kind} classes.")
        else:
            say("")

    def on_labels(change: Any) -> None:
        if exclusive_for(change["new"]):
            remembered["labels"] = change["new"]
        exclusive = exclusive_for(change["new"])
        if classes.value != exclusive:
            classes.value = exclusive
            what = "names one class" if exclusive else "marks any subset of classes"
            say(f"classes set to {'exclusive' if exclusive else 'independent'} to match "
                f"labels={change['new']}, which {what} per example.")
        else:
            say("")

    def update(_change: object = None) -> None:
        text = wizard_text(**{name: c.value for name, c in controls.items()})
        answer.value = ANSWER_HTML.format(html.escape(text))

    # registered before `update`, so no update ever sees the two menus disagree
    classes.observe(on_classes, names="value")
    labels.observe(on_labels, names="value")
    for control in controls.values():
        control.observe(update, names="value")
    update()
    return w.VBox([w.HTML("<b>Which cross-entropy? Describe your problem</b>"),
                   *controls.values(), note, answer])
