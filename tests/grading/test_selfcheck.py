"""The student's check(): the answer an assignment is about must fail its visible tests.

Each naive answer below is the mistake the assignment's text warns about (no max shift,
log of a probability, no masking of accidental hits). The visible tests have to catch it,
not only the hidden ones; a correct answer passes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_lib import nn
from course_lib.grading import CheckFailed, check


def naive_log_softmax(logits):
    e = np.exp(logits)
    return np.log(e / np.sum(e, axis=-1, keepdims=True))


def log_of_stable_softmax_ce(labels, logits):
    """The max shift, but the loss still goes through log(probabilities)."""
    return -np.sum(labels * np.log(nn.softmax(logits)), axis=-1)


def naive_softmax_ce_grad(labels, logits):
    e = np.exp(logits)
    return e / np.sum(e, axis=-1, keepdims=True) - labels


def naive_sigmoid_ce(labels, logits):
    p = 1 / (1 + np.exp(-logits))
    return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


def sigmoid_logit_through_probabilities(logits):
    e = np.exp(logits)
    p = e[:, 1] / e.sum(axis=1)
    return np.log(p / (1 - p))


def naive_sparse_ce(labels, logits):
    e = np.exp(logits)
    p = np.take_along_axis(e / e.sum(-1, keepdims=True), labels[..., None], axis=-1)[..., 0]
    return -np.log(p)


def naive_weighted_ce(labels, logits, pos_weight):
    p = 1 / (1 + np.exp(-logits))
    return -(pos_weight * labels * np.log(p) + (1 - labels) * np.log(1 - p))


def _unmasked_logits(weights, biases, labels, inputs, sampled_values):
    candidates, true_count, sampled_count = sampled_values
    y = labels[:, 0]
    true_logit = np.sum(inputs * weights[y], axis=1) + biases[y] - np.log(true_count[:, 0])
    sampled = inputs @ weights[candidates].T + biases[candidates] - np.log(sampled_count)
    return np.concatenate([true_logit[:, None], sampled], axis=1)


def unmasked_sampled_loss(weights, biases, labels, inputs, sampled_values):
    logits = _unmasked_logits(weights, biases, labels, inputs, sampled_values)
    return -nn.log_softmax(logits)[:, 0]


NAIVE = {
    "01.q1": naive_log_softmax,
    "01.q2": log_of_stable_softmax_ce,
    "01.q3": naive_softmax_ce_grad,
    "02.q1": naive_sigmoid_ce,
    "02.q3": sigmoid_logit_through_probabilities,
    "03.q1": naive_sparse_ce,
    "03.q3": naive_weighted_ce,
    "05.q1": _unmasked_logits,
    "05.q2": unmasked_sampled_loss,
}


@pytest.mark.parametrize("question", list(NAIVE))
def test_the_naive_answer_fails_the_visible_tests(question, capsys):
    with pytest.raises(CheckFailed):
        check(question, NAIVE[question])
    printed = capsys.readouterr()
    assert printed.out.startswith("✗ "), printed.out
    assert printed.err == "", "NumPy's overflow warnings must not look like a traceback"


CORRECT = {
    "01.q1": nn.log_softmax,
    "01.q2": nn.softmax_cross_entropy_with_logits,
    "02.q1": nn.sigmoid_cross_entropy_with_logits,
    "02.q3": lambda logits: logits[:, 1] - logits[:, 0],
    "03.q1": nn.sparse_softmax_cross_entropy_with_logits,
}


@pytest.mark.parametrize("question", list(CORRECT))
def test_a_correct_answer_passes(question, capsys):
    check(question, CORRECT[question])
    assert capsys.readouterr().out.startswith("✓ ")


def test_a_failing_check_in_a_notebook_shows_its_message_and_no_traceback():
    """Run in a real kernel as a student does: one ✗ report, one line of error, no stderr."""
    import nbclient
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\nfrom course_lib.grading import check\n\n"
        "def log_softmax(logits):\n"
        "    return np.log(np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True))\n\n"
        "check('01.q1', log_softmax)")]
    nbclient.NotebookClient(nb, allow_errors=True, timeout=120).execute()
    outputs = nb.cells[0].outputs
    kinds = [(o.output_type, o.get("name")) for o in outputs]
    assert kinds == [("stream", "stdout"), ("error", None)], json.dumps(outputs)[:2000]
    assert outputs[0].text.startswith("✗ 01.q1 log_softmax")
    assert "large logits" in outputs[0].text
    assert len(outputs[1].traceback) == 1 and "Traceback" not in outputs[1].traceback[0]
