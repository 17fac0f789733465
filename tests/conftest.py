"""Shared fixtures: TensorFlow imported once and quietly, Hypothesis profiles, nbval stderr."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# "ci" (the default, used by `make test`) keeps the suite within a few minutes on 2 cores;
# HYPOTHESIS_PROFILE=thorough explores far more examples when changing course_lib.
settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported with its start-up log lines silenced (course_lib.tf_setup)."""
    from course_lib.tf_setup import import_tensorflow

    return import_tensorflow()


def pytest_collectstart(collector):
    """nbval: do not compare stderr (TF's C++ log lines vary by wheel and run; nbval#88)."""
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
