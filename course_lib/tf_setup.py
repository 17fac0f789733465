"""Import TensorFlow quietly, for notebooks and tests.

``import tensorflow`` prints C++ log lines (oneDNN, CUDA stub, CPU features, and on the first
op a ``cuInit`` error on machines with no GPU driver). Some are written before abseil's
logging starts, so ``TF_CPP_MIN_LOG_LEVEL`` cannot remove them; only redirecting file
descriptor 2 around the import does. In a notebook they would become stderr outputs that
differ between the ``tensorflow`` (CUDA build) and ``tensorflow-cpu`` wheels and between runs.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def _stderr_fd_silenced():
    """Point file descriptor 2 at /dev/null for the duration (C++ code writes to it directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> ModuleType:
    """Return ``tensorflow``, imported with its start-up log lines silenced.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` (which also silences the later ``cuInit`` line) unless the
    user set it, silences fd 2 around the import and the first op, and lowers TF's Python
    logger to ERROR (deprecation warnings of ``tf.compat.v1``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_fd_silenced():
        import tensorflow as tf

        tf.constant(0.0) + 1.0  # the first op initialises the devices (and logs cuInit)
    tf.get_logger().setLevel("ERROR")
    return tf


def import_keras() -> ModuleType:
    """Return ``keras`` (which imports TensorFlow), quietly."""
    import_tensorflow()
    import keras

    return keras
