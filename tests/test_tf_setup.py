"""course_lib.tf_setup: logical CPU devices are asked for once, before TensorFlow's first op.

TensorFlow fixes its devices at its first op, so each scenario runs in a fresh Python process
(the pytest process has initialised TensorFlow long before these tests run).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib.tf_setup import import_tensorflow

ROOT = Path(__file__).resolve().parents[1]


def run_fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object as its last line."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tensorflow_refuses_a_new_device_split_after_its_first_op():
    """The TF behaviour the module's advice rests on, without course_lib in the way."""
    result = run_fresh("""
        import json, os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.constant(1.0) + 1.0
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
            error = None
        except RuntimeError as e:
            error = str(e)
        print(json.dumps({"error": error, "cpus": len(tf.config.list_logical_devices("CPU"))}))
    """)
    assert result["error"] == "Virtual devices cannot be modified after being initialized"
    assert result["cpus"] == 1


@pytest.mark.slow
def test_logical_cpus_split_the_cpu_and_a_repeated_request_passes():
    result = run_fresh("""
        import json
        from course_lib.tf_setup import import_tensorflow, import_keras
        tf = import_tensorflow(logical_cpus=2)
        again = import_tensorflow(logical_cpus=2) is tf   # Run All twice in one kernel
        plain = import_tensorflow() is tf                  # no request: no complaint
        import_keras()
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
        replicas = tf.distribute.MirroredStrategy(names).num_replicas_in_sync
        errors = {}
        for n in (3, 1):
            try:
                import_tensorflow(logical_cpus=n)
            except RuntimeError as e:
                errors[n] = str(e)
        print(json.dumps({"again": again, "plain": plain, "names": names,
                          "replicas": replicas, "errors": errors}))
    """)
    assert result["again"] and result["plain"]
    assert result["names"] == ["/device:CPU:0", "/device:CPU:1"]
    assert result["replicas"] == 2
    assert set(result["errors"]) == {"3", "1"}
    for n, message in result["errors"].items():
        assert message.startswith(f"logical_cpus: asked for {n} logical CPU devices"), message
        assert "already initialised its devices with 2" in message
        assert f"import_tensorflow(logical_cpus={n})" in message


@pytest.mark.slow
def test_a_split_asked_for_after_a_plain_import_raises_unless_it_is_one_cpu():
    result = run_fresh("""
        import json
        from course_lib.tf_setup import import_tensorflow
        tf = import_tensorflow()
        one = import_tensorflow(logical_cpus=1) is tf      # what TF has anyway
        try:
            import_tensorflow(logical_cpus=2)
            error = None
        except RuntimeError as e:
            error = str(e)
        print(json.dumps({"one": one, "error": error,
                          "cpus": len(tf.config.list_logical_devices("CPU"))}))
    """)
    assert result["one"] and result["cpus"] == 1
    assert result["error"].startswith("logical_cpus: asked for 2 logical CPU devices, but "
                                      "TensorFlow has already initialised its devices with 1")


@pytest.mark.parametrize("bad, error, words", [
    (0, ValueError, "got 0"), (-2, ValueError, "got -2"),
    (2.0, TypeError, "got float 2.0"), ("2", TypeError, "got str '2'"),
    (True, TypeError, "got bool True"),
])
def test_bad_logical_cpus_name_the_argument(bad, error, words):
    with pytest.raises(error, match=r"^logical_cpus: expected a positive int or None") as info:
        import_tensorflow(logical_cpus=bad)
    assert words in str(info.value)
