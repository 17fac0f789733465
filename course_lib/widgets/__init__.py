"""Widget experiments for the lessons: move a slider instead of reading a formula.

Each experiment is three functions:

- a pure function computing what the widget shows (tested without a browser, against
  TF/Keras where TF is the subject), returning a frozen dataclass with a ``summary()``;
- ``*_widget(...)``: the ipywidgets widget (sliders, the printed summary, a figure);
- ``*_figure(...)``: the same figure as a static fallback for readers without a kernel.

    softmax_explorer     logits + temperature → probabilities, loss, gradient softmax - onehot
    sigmoid_vs_softmax   one logit: σ(x) = softmax([x, 0])_0 and equal losses
    label_smoothing      smoothing → target, loss, the confidence it rewards
    imbalance            pos_weight → threshold, confusion matrix, precision, recall
    sampled_softmax      num_sampled → bias and spread of the sampled loss vs the full loss
    from_logits_trap     logits or probabilities, from_logits on or off → how wrong

``chooser_wizard`` wraps ``course_lib.choose_loss``. ipywidgets and matplotlib are imported
only when a widget or figure is made, so importing this package needs NumPy alone.
"""

from course_lib.widgets.class_imbalance import (
    Imbalance,
    imbalance,
    imbalance_figure,
    imbalance_widget,
)
from course_lib.widgets.explorer import (
    SoftmaxExplorer,
    softmax_explorer,
    softmax_explorer_figure,
    softmax_explorer_widget,
)
from course_lib.widgets.from_logits import (
    FromLogitsTrap,
    from_logits_figure,
    from_logits_trap,
    from_logits_widget,
)
from course_lib.widgets.sampling import (
    SampledSoftmax,
    sampled_softmax,
    sampled_softmax_figure,
    sampled_softmax_widget,
)
from course_lib.widgets.sigmoid_softmax import (
    SigmoidVsSoftmax,
    sigmoid_vs_softmax,
    sigmoid_vs_softmax_figure,
    sigmoid_vs_softmax_widget,
)
from course_lib.widgets.smoothing import (
    LabelSmoothing,
    label_smoothing,
    label_smoothing_figure,
    label_smoothing_widget,
)
from course_lib.widgets.wizard import chooser_wizard, wizard_text

__all__ = [
    "FromLogitsTrap",
    "Imbalance",
    "LabelSmoothing",
    "SampledSoftmax",
    "SigmoidVsSoftmax",
    "SoftmaxExplorer",
    "chooser_wizard",
    "from_logits_figure",
    "from_logits_trap",
    "from_logits_widget",
    "imbalance",
    "imbalance_figure",
    "imbalance_widget",
    "label_smoothing",
    "label_smoothing_figure",
    "label_smoothing_widget",
    "sampled_softmax",
    "sampled_softmax_figure",
    "sampled_softmax_widget",
    "sigmoid_vs_softmax",
    "sigmoid_vs_softmax_figure",
    "sigmoid_vs_softmax_widget",
    "softmax_explorer",
    "softmax_explorer_figure",
    "softmax_explorer_widget",
    "wizard_text",
]
