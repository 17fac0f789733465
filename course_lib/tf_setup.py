"""Import TensorFlow quietly, for notebooks and tests.

``import tensorflow`` prints C++ log lines (oneDNN, CUDA stub, CPU features, and on the first
op a ``cuInit`` error on machines with no GPU driver). Some are written before abseil's
logging starts, so ``TF_CPP_MIN_LOG_LEVEL`` cannot remove them; only redirecting file
descriptor 2 around the import does. In a notebook they would become stderr outputs that
differ between the ``tensorflow`` (CUDA build) and ``tensorflow-cpu`` wheels and between runs.

``import_tensorflow(logical_cpus=2)`` also splits the CPU into logical devices (for
``tf.distribute.MirroredStrategy`` on a machine with no GPU). TensorFlow fixes its devices at its
first op, and ``import_tensorflow`` runs one, so the split must be asked for in that first call.
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


def _check_logical_cpus(logical_cpus: int | None) -> None:
    """``logical_cpus`` is None or a positive int (bool is not an int here)."""
    if logical_cpus is None:
        return
    if isinstance(logical_cpus, bool) or not isinstance(logical_cpus, int):
        raise TypeError(f"logical_cpus: expected a positive int or None, got "
                        f"{type(logical_cpus).__name__} {logical_cpus!r}")
    if logical_cpus < 1:
        raise ValueError(f"logical_cpus: expected a positive int or None, got {logical_cpus}")


def _configure_logical_cpus(tf: ModuleType, logical_cpus: int) -> None:
    """Split the first physical CPU into ``logical_cpus`` logical devices, or check the split.

    Mirrors ``tf.config.set_logical_device_configuration(cpu, [LogicalDeviceConfiguration()] *
    logical_cpus)``. TF accepts that call until its first op; afterwards it raises
    ``RuntimeError`` unless the configuration is unchanged, so a second call with the same
    request (a notebook run twice) passes and a different one raises, naming the argument.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    except RuntimeError:  # devices already initialised: fine if they are the ones asked for
        have = len(tf.config.list_logical_devices("CPU"))
        if have != logical_cpus:
            raise RuntimeError(
                f"logical_cpus: asked for {logical_cpus} logical CPU devices, but TensorFlow "
                f"has already initialised its devices with {have}; they can only be set "
                f"before TensorFlow's first op. Restart the kernel (or process) and make "
                f"import_tensorflow(logical_cpus={logical_cpus}) the first TensorFlow call."
            ) from None


def import_tensorflow(logical_cpus: int | None = None) -> ModuleType:
    """Return ``tensorflow``, imported with its start-up log lines silenced.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` (which also silences the later ``cuInit`` line) unless the
    user set it, silences fd 2 around the import and the first op, and lowers TF's Python
    logger to ERROR (deprecation warnings of ``tf.compat.v1``).

    ``logical_cpus=n`` splits the CPU into ``n`` logical devices ``/CPU:0`` ... ``/CPU:n-1``
    before that first op (see ``_configure_logical_cpus``). Calling again with the same ``n``,
    or with None (no request), returns ``tensorflow`` unchanged; a different ``n`` after TF has
    initialised raises ``RuntimeError`` naming ``logical_cpus``. Bad values raise ``TypeError``
    (not an int) or ``ValueError`` (less than 1).
    """
    _check_logical_cpus(logical_cpus)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_fd_silenced():
        import tensorflow as tf

        if logical_cpus is not None:
            _configure_logical_cpus(tf, logical_cpus)
        tf.constant(0.0) + 1.0  # the first op initialises the devices (and logs cuInit)
    tf.get_logger().setLevel("ERROR")
    return tf


def import_keras() -> ModuleType:
    """Return ``keras`` (which imports TensorFlow), quietly."""
    import_tensorflow()
    import keras

    return keras
