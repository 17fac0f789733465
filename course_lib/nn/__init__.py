"""NumPy mirrors of ``tf.nn``'s cross-entropy ops, their activations and their gradients.

Every name here is the TensorFlow name; ``*_grad`` functions return the gradient of the
*summed* loss, as ``tf.GradientTape`` gives it.
"""

from course_lib.nn.activations import (
    log_sigmoid,
    log_softmax,
    logsumexp,
    sigmoid,
    softmax,
    softplus,
)
from course_lib.nn.sampled import (
    compute_accidental_hits,
    estimate_full_softmax_loss,
    nce_loss,
    nce_loss_grad,
    nce_loss_value_and_grad,
    sampled_softmax_loss,
    sampled_softmax_loss_grad,
    sampled_softmax_loss_value_and_grad,
)
from course_lib.nn.sigmoid_cross_entropy import (
    sigmoid_cross_entropy_with_logits,
    sigmoid_cross_entropy_with_logits_grad,
    sigmoid_cross_entropy_with_logits_value_and_grad,
    weighted_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits_grad,
)
from course_lib.nn.softmax_cross_entropy import (
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_grad,
    softmax_cross_entropy_with_logits_value_and_grad,
    sparse_softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits_grad,
    sparse_softmax_cross_entropy_with_logits_value_and_grad,
)

__all__ = [
    "compute_accidental_hits",
    "estimate_full_softmax_loss",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "nce_loss",
    "nce_loss_grad",
    "nce_loss_value_and_grad",
    "sampled_softmax_loss",
    "sampled_softmax_loss_grad",
    "sampled_softmax_loss_value_and_grad",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits_grad",
    "sigmoid_cross_entropy_with_logits_value_and_grad",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_grad",
    "softmax_cross_entropy_with_logits_value_and_grad",
    "softplus",
    "sparse_softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits_grad",
    "sparse_softmax_cross_entropy_with_logits_value_and_grad",
    "weighted_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits_grad",
]
