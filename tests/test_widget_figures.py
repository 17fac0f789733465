"""The static figures of the lesson widgets read as English: every legend entry is a real phrase."""

from __future__ import annotations

import pytest

from course_lib import widgets


@pytest.mark.parametrize("logit", [-2.0, 1.5])
def test_sigmoid_vs_softmax_legend_names_positive_and_negative_examples(logit):
    import matplotlib.pyplot as plt

    fig = widgets.sigmoid_vs_softmax_figure(logit)
    labels = [text.get_text() for ax in fig.axes for text in ax.get_legend().get_texts()]
    plt.close(fig)
    assert "sigmoid CE, positive example" in labels
    assert "sigmoid CE, negative example" in labels
