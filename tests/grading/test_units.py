"""Unit tests of the grading modules: fast, no worker processes."""

from __future__ import annotations

import ast
import base64
import importlib.util
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from course_lib.grading import CheckFailed, check, flags, notebook, wire
from course_lib.grading.assignments import get_assignment
from course_lib.grading.batch import OutputConflict, choose_seed
from course_lib.grading.compare import compare
from course_lib.grading.release import clear_solutions, remove_hidden_tests
from course_lib.grading.specs import Case
from tests.grading.conftest import ROOT

runner_spec = importlib.util.spec_from_file_location(
    "runner", ROOT / "course_lib" / "grading" / "runner.py")
runner = importlib.util.module_from_spec(runner_spec)
runner_spec.loader.exec_module(runner)


def test_importing_course_lib_and_grading_stays_numpy_only():
    code = ("import sys, course_lib, course_lib.grading; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'rich', 'nbformat', 'IPython')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.parametrize("name", ["runner.py", "bootstrap.py"])
def test_sandbox_scripts_import_the_standard_library_only(name):
    """They run with a clean sys.path, where course_lib does not exist."""
    tree = ast.parse((ROOT / "course_lib" / "grading" / name).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


@pytest.mark.parametrize(("code", "expected"), [
    ("import os\nimport numpy as np", ["import:os"]),
    ("from scipy import special", ["forbidden-import:scipy.special"]),
    ("import tensorflow as tf", ["forbidden-import:tensorflow"]),
    ("from course_lib.nn import softmax", ["forbidden-import:course_lib"]),
    ("np.allclose = lambda *a: True", ["monkeypatch:np.allclose"]),
    ("import numpy\nnumpy.testing.assert_allclose = None", [
        "monkeypatch:numpy.testing.assert_allclose"]),
    ("setattr(np, 'isclose', None)", ["monkeypatch:np.isclose"]),
    ("__import__('subprocess')", ["dynamic-import"]),
    ("get_ipython().input_transformers_cleanup.append(f)", ["ipython"]),
    ("x = np.zeros(3)\nx.shape = (3, 1)\nobj.attr = 1", []),
    ("def f(:\n    pass", []),
])
def test_flag_scan(code, expected):
    assert flags.scan([code], ("tensorflow", "scipy.special", "course_lib"), ["np"]) == expected


def test_ipython_syntax_is_commented_out_but_python_left_alone():
    assert notebook.to_python("x = 1  # why?\ny = 2") == "x = 1  # why?\ny = 2"
    assert notebook.to_python("%timeit f()\nx = 1\n!ls") == "# %timeit f()\nx = 1\n# !ls"
    assert notebook.to_python("%%time\nx = 1") == "# %%time\n# x = 1"


def test_answer_cells_by_grade_id_and_missing_ones():
    nb = {"cells": [{"cell_type": "code", "source": ["a = ", "1"],
                     "metadata": {"nbgrader": {"grade_id": "q1_answer"}}}]}
    cells, notes = notebook.answer_cells(nb, ["q1_answer", "q2_answer"])
    assert cells == ["a = 1", ""] and "q2_answer" in notes[0]


def _npy(arr: np.ndarray, allow_pickle: bool = False) -> dict:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return {"npy": base64.b64encode(buf.getvalue()).decode()}


def test_wire_round_trip_and_runner_agree():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(runner.decode(wire.encode(arr), np), arr)
    assert runner.decode(wire.encode((arr, 3)), np)[1] == 3
    np.testing.assert_array_equal(wire.decode_reply(runner.encode(arr, np)), arr)
    assert wire.decode_reply(runner.encode(np.float64(2.5), np)).shape == ()


@pytest.mark.parametrize("payload", [
    _npy(np.array([object()]), allow_pickle=True),      # a pickle inside .npy
    _npy(np.array(["text"])),
    _npy(np.zeros(2, dtype=[("a", "f8")])),
    {"npy": "not base64!"},
    {"npy": base64.b64encode(b"\x93NUMPY garbage").decode()},
    {"value": [1, 2]},
    [1.0, 2.0],
])
def test_wire_rejects_anything_but_numeric_arrays(payload):
    with pytest.raises(wire.WireError):
        wire.decode_reply(payload)


def test_wire_rejects_oversized_replies():
    with pytest.raises(wire.WireError, match="larger"):
        wire.decode_reply({"npy": "A" * (wire.MAX_VALUE_BYTES * 2)})


def test_runner_refuses_objects_and_huge_arrays():
    for value in (object(), [object(), 1], "text"):
        with pytest.raises(ValueError, match="not an array of numbers"):
            runner.encode(value, np)
    with pytest.raises(ValueError, match="bytes"):
        runner.encode(np.zeros(runner.MAX_VALUE_BYTES // 8 + 1), np)


def test_hidden_verdicts_print_no_values_visible_ones_do():
    expected = np.array([0.123456, 2.5])
    got = np.array([0.9, 2.5])
    visible = compare(got, expected, Case("v", "d", lambda rng: ((), {})))
    hidden = compare(got, expected, Case("h", "d", lambda rng: ((), {}), hidden=True))
    assert not visible.passed and "0.123456" in visible.message and "0.9" in visible.message
    assert not hidden.passed and "0.123" not in hidden.message and "0.9" not in hidden.message
    overflow = compare(np.array([np.nan, 1.0]), expected, Case("v", "d", lambda rng: ((), {})))
    assert "nan" in overflow.message and "overflow" in overflow.message


def test_self_check_prints_a_verdict_and_never_a_grade(capsys):
    def log_softmax(x):
        s = x - x.max(axis=-1, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))

    check("01.q1", log_softmax)
    out = capsys.readouterr().out
    assert out.startswith("✓ 01.q1 log_softmax: all 2 visible tests pass")
    assert "score" not in out.lower() and "point" not in out.lower()
    with pytest.raises(CheckFailed) as err:
        check("01.q1", lambda x: np.log(np.exp(x) / np.exp(x).sum(-1, keepdims=True)) * 2)
    out = capsys.readouterr().out
    assert "✗" in out and "Hint:" in out
    assert isinstance(err.value, AssertionError)
    assert err.value._render_traceback_()[0].startswith("CheckFailed: 01.q1")


def test_self_check_names_unknown_questions():
    with pytest.raises(KeyError, match=r"known: 01\.q1"):
        check("9.q9", print)


def test_release_stubs_keep_indentation_and_drop_hidden_tests():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    stub = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert clear_solutions(source) == stub
    assert clear_solutions("answer", markdown=True) == "YOUR ANSWER HERE"
    tests = ("check('q', f)\n### BEGIN HIDDEN TESTS\ncheck('q', f, hidden=True)\n"
             "### END HIDDEN TESTS")
    assert remove_hidden_tests(tests) == "check('q', f)"


def test_seed_is_reused_and_a_different_one_needs_regrade_all(tmp_path):
    assert 0 <= choose_seed(tmp_path, "01_softmax", None) < 2**31   # a fresh random one
    (tmp_path / "run.json").write_text(json.dumps({"assignment": "01_softmax", "seed": 42}))
    assert choose_seed(tmp_path, "01_softmax", None) == 42
    assert choose_seed(tmp_path, "01_softmax", 42) == 42
    with pytest.raises(OutputConflict, match="seed 42, not 7"):
        choose_seed(tmp_path, "01_softmax", 7)
    assert choose_seed(tmp_path, "01_softmax", 7, regrade_all=True) == 7
    with pytest.raises(OutputConflict, match="holds the results of 01_softmax"):
        choose_seed(tmp_path, "02_sigmoid", None)


def test_every_case_makes_inputs_its_reference_accepts():
    for name in ("01_softmax", "02_sigmoid", "03_sparse_weights", "05_sampled_softmax"):
        for question in get_assignment(name).questions:
            for case in question.cases:
                args, kwargs = case.make(np.random.default_rng(0))
                assert np.all(np.isfinite(np.asarray(question.reference(*args, **kwargs))))
