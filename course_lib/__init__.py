"""Which cross-entropy? A NumPy reference of TensorFlow's cross-entropy family.

``course_lib.nn`` mirrors ``tf.nn``, ``course_lib.losses`` mirrors ``tf.compat.v1.losses``
(the TF 1 ``tf.losses``), ``course_lib.keras_losses`` mirrors the Keras 3 losses and
``course_lib.random`` the candidate samplers of ``tf.random``. Importing course_lib imports
NumPy only; ``course_lib.tf_setup.import_tensorflow()`` brings in TF quietly.
"""

from course_lib import api_map, gradcheck, keras_losses, losses, nn, random
from course_lib.chooser import LossChoice, choose_loss
from course_lib.diagnose import Finding, diagnose
from course_lib.diagnose_model import diagnose_model

__all__ = ["Finding", "LossChoice", "api_map", "choose_loss", "diagnose", "diagnose_model",
           "gradcheck", "keras_losses", "losses", "nn", "random"]
__version__ = "0.1.0"
