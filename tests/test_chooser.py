"""choose_loss: every recommendation in the scenario table runs in TF and equals its mirror."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import course_lib
from course_lib import choose_loss, nn
from course_lib.random import log_uniform_candidate_sampler

TABLE = json.loads((Path(__file__).parent / "data" / "loss_scenarios.json").read_text())
SCENARIOS = TABLE["scenarios"]
INVALID = TABLE["invalid"]
BATCH, DIM, K = 6, 8, 3


def scenario_ids(rows):
    return [row.get("name") or row["error"] for row in rows]


def make_inputs(args: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Small float32 inputs in the shapes LossChoice's names promise (see course_lib.chooser)."""
    rng = np.random.default_rng(seed)
    c, labels = args["num_classes"], args["labels"]
    binary = args["exclusive"] and c == 2 and labels == "int"
    ids = rng.integers(0, c, BATCH)
    y = {"int": ids[:, None] if binary else ids,
         "one_hot": np.eye(c, dtype=np.float32)[ids] if labels == "one_hot" else None,
         "probabilities": rng.dirichlet(np.ones(c), BATCH).astype(np.float32),
         "multi_hot": (rng.random((BATCH, c)) < 0.3).astype(np.float32)}[labels]
    inputs = {"y": y, "w": rng.uniform(0.5, 2.0, BATCH).astype(np.float32),
              "class_weights": rng.uniform(0.5, 3.0, c).astype(np.float32),
              "pos_weight": (np.float32(3.0) if binary
                             else rng.uniform(1.0, 5.0, c).astype(np.float32))}
    if args.get("huge_num_classes"):
        if not args["exclusive"]:   # NCE: K distinct true ids per example, [B, K]
            inputs |= {"y": np.stack([rng.choice(c, K, replace=False) for _ in range(BATCH)]),
                       "K": K}
        inputs |= {"W": (0.1 * rng.standard_normal((c, DIM))).astype(np.float32),
                   "b": np.zeros(c, np.float32),
                   "h": rng.standard_normal((BATCH, DIM)).astype(np.float32)}
        return inputs
    z = (2 * rng.standard_normal((BATCH, 1) if binary else (BATCH, c))).astype(np.float32)
    sigmoid_family = binary or not args["exclusive"]
    return inputs | {"z": z, "p": nn.sigmoid(z) if sigmoid_family else nn.softmax(z)}


def with_sampled_values(code: str) -> str:
    """The same call with ``sampled_values=sampled`` added: both sides then see one draw."""
    tree = ast.parse(code, mode="eval")
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and ast.unparse(node.func).endswith(("sampled_softmax_loss", "nce_loss")))
    call.keywords.append(ast.keyword("sampled_values", ast.Name("sampled", ast.Load())))
    return ast.unparse(tree)


def evaluate(choice, args, tf, keras):
    """(TF value, course_lib value) of the recommendation on the same small inputs."""
    inputs = make_inputs(args)
    tf_names = {"tf": tf, "keras": keras, **{k: v if k == "K" else tf.constant(v)
                                             for k, v in inputs.items()}}
    cl_names = {"course_lib": course_lib, "np": np, **inputs}
    tf_code, cl_code = choice.tf_call, choice.course_lib
    if args.get("huge_num_classes"):
        y = inputs["y"] if inputs["y"].ndim == 2 else inputs["y"][:, None]
        sampled = log_uniform_candidate_sampler(y, y.shape[1], 64, True,
                                                args["num_classes"], seed=0)
        cl_names["sampled"] = sampled
        tf_names["sampled"] = tuple(tf.constant(v) for v in sampled)
        tf_code, cl_code = with_sampled_values(tf_code), with_sampled_values(cl_code)
    return (np.asarray(eval(tf_code, tf_names)),
            np.asarray(eval(cl_code, cl_names)))


@pytest.fixture(scope="module")
def keras(tf):
    from course_lib.tf_setup import import_keras

    return import_keras()


def test_the_table_holds_a_dozen_realistic_scenarios():
    assert len(SCENARIOS) >= 12
    assert len({s["name"] for s in SCENARIOS}) == len(SCENARIOS)
    assert all(len(s["story"]) > 30 for s in SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=scenario_ids(SCENARIOS))
def test_choice_is_the_expected_one(scenario):
    choice = choose_loss(**scenario["args"])
    expect = scenario["expect"]
    assert expect["tf"] in choice.tf_call
    if expect["keras"] is None:
        assert choice.keras is None and "Keras 3 has no" in choice.why
    else:
        assert expect["keras"] in choice.keras
    assert choice.course_lib.replace("tf.", "").count("course_lib.") == 1
    assert choice.why.endswith(".") and choice.avoid.endswith(".")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=scenario_ids(SCENARIOS))
def test_recommended_tf_call_runs_and_equals_the_mirror(scenario, tf, keras):
    choice = choose_loss(**scenario["args"])
    tf_value, cl_value = evaluate(choice, scenario["args"], tf, keras)
    assert tf_value.shape == cl_value.shape and tf_value.shape[0] == BATCH
    assert np.all(np.isfinite(tf_value)) and np.all(tf_value >= 0)
    np.testing.assert_allclose(tf_value, cl_value, rtol=2e-5, atol=2e-6)


def keras_sample_weight(args: dict, inputs: dict) -> np.ndarray | None:
    """What the LossChoice's `why` tells a Keras user to pass as sample_weight."""
    weighting, y = args.get("weighting", "none"), inputs["y"]
    if weighting == "per_example":
        return inputs["w"]
    if weighting == "per_class" and args["labels"] == "int" and args["num_classes"] > 2:
        return inputs["class_weights"][y]                       # class_weight=...
    if weighting == "per_class" and args["exclusive"] and args["num_classes"] > 2:
        return y @ inputs["class_weights"]
    if weighting == "per_class" and args["exclusive"]:          # binary: class_weight {1: q}
        return 1 + (inputs["pos_weight"] - 1) * y
    return None


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s["expect"]["keras"]],
                         ids=scenario_ids([s for s in SCENARIOS if s["expect"]["keras"]]))
def test_keras_recommendation_gives_the_mean_of_the_tf_losses(scenario, tf, keras):
    args = scenario["args"]
    choice = choose_loss(**args)
    inputs = make_inputs(args)
    loss = eval(choice.keras, {"tf": tf, "keras": keras,
                               "pos_weight": inputs["pos_weight"]})
    pred = inputs["p" if args.get("outputs") == "probabilities" else "z"]
    if isinstance(loss, keras.losses.Loss):
        value = loss(inputs["y"], pred, sample_weight=keras_sample_weight(args, inputs))
    else:  # a plain function for model.compile(loss=...): Keras averages what it returns
        value = np.mean(loss(inputs["y"], pred))
    tf_value, _ = evaluate(choice, args, tf, keras)
    np.testing.assert_allclose(np.asarray(value), np.mean(tf_value), rtol=2e-5)


@pytest.mark.parametrize("exclusive", [True, False], ids=["sampled softmax", "nce"])
def test_sampled_recommendation_runs_with_tfs_own_sampler(tf, keras, exclusive):
    args = next(s["args"] for s in SCENARIOS
                if s["args"].get("huge_num_classes") and s["args"]["exclusive"] == exclusive)
    inputs = {k: v if k == "K" else tf.constant(v) for k, v in make_inputs(args).items()}
    value = eval(choose_loss(**args).tf_call, {"tf": tf, **inputs})
    assert value.shape == (BATCH,) and np.all(np.isfinite(value))


@pytest.mark.parametrize("case", INVALID, ids=scenario_ids(INVALID))
def test_contradictions_raise_value_error_saying_why(case):
    with pytest.raises(ValueError, match=case["error"].replace("(", r"\(").replace(")", r"\)")):
        choose_loss(**case["args"])


def test_loss_choice_is_frozen_and_prints_every_field():
    choice = choose_loss(exclusive=True, num_classes=10, labels="int")
    with pytest.raises(dataclasses.FrozenInstanceError):
        choice.tf_call = "tf.nn.softmax"
    text = str(choice)
    for field in ("TF 2.21:", "Keras 3:", "course_lib:", "Why:", "Avoid:"):
        assert field in text


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        choose_loss(True, 10, "int")


def test_many_exclusive_classes_suggest_sampling():
    choice = choose_loss(exclusive=True, num_classes=500_000, labels="int")
    assert "huge_num_classes=True" in choice.why


def test_keras_class_weight_takes_the_argmax_of_multi_hot_rows(keras):
    """The `avoid` of multi-label class weights: Keras weighs a row by its first positive tag."""
    from keras.src.trainers.data_adapters.data_adapter_utils import (  # the fit() helper
        class_weight_to_sample_weights,
    )

    rows = np.array([[0, 1, 1], [1, 0, 1], [0, 0, 0]], np.float32)
    weights = class_weight_to_sample_weights(rows, {0: 1.0, 1: 5.0, 2: 20.0})
    np.testing.assert_array_equal(weights, [5.0, 1.0, 1.0])   # not per tag: 20 never used
    avoid = choose_loss(exclusive=False, num_classes=3, labels="multi_hot",
                        weighting="per_class").avoid
    assert "argmax" in avoid
