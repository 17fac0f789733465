"""The fixture submissions: answer cells per kind, and the score each must get.

``make_fixtures.py`` turns each entry into ``fixtures/<assignment>/<kind>.ipynb`` by taking the
released exercise and filling its answer cells: with the code given here, and with the
reference solution's code for the cells a kind does not set (so an attack on one question
shows that the rest of the submission is still graded). ``EXPECTED`` holds the score of every
fixture (10 points per assignment) and the flags it must raise; the reference solution and
the released template are graded too (10 and 0).
"""

from __future__ import annotations

# ---------------------------------------------------------------- shared pieces of answers
STABLE_Q1 = '''
def log_softmax(logits):
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
'''
OWN_Q2 = '''
def softmax_cross_entropy(labels, logits):
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return -np.sum(labels * log_probs, axis=-1)
'''
OWN_Q3 = '''
def softmax_cross_entropy_grad(labels, logits):
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True) - labels
'''
ZEROS_01 = {
    "q1_answer": "def log_softmax(logits):\n    return np.zeros_like(logits)\n",
    "q2_answer": "def softmax_cross_entropy(labels, logits):\n    return np.zeros(len(logits))\n",
    "q3_answer": "def softmax_cross_entropy_grad(labels, logits):\n"
                 "    return np.zeros_like(logits)\n",
}
LOOP = "    while True:\n        pass\n"

# ---------------------------------------------------------------- 01_softmax
A01: dict[str, dict[str, str]] = {
    "alternative": {
        "q1_answer": '''
def log_softmax(logits):
    """logaddexp.reduce is another stable logsumexp."""
    return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
''',
        "q2_answer": '''
import math


def softmax_cross_entropy(labels, logits):
    """Pure-Python loops over the rows."""
    losses = []
    for z_row, x_row in zip(labels.tolist(), logits.tolist()):
        m = max(x_row)
        lse = m + math.log(sum(math.exp(x - m) for x in x_row))
        losses.append(sum(z * (lse - x) for z, x in zip(z_row, x_row)))
    return np.array(losses)
''',
        "q3_answer": '''
def softmax_cross_entropy_grad(labels, logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) - labels
''',
    },
    "naive": {  # no max shift: every large-logit test overflows, visible (3) and hidden (3)
        "q1_answer": '''
def log_softmax(logits):
    return np.log(np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True))
''',
        "q2_answer": '''
def softmax_cross_entropy(labels, logits):
    probs = np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True)
    return -np.sum(labels * np.log(probs), axis=-1)
''',
        "q3_answer": '''
def softmax_cross_entropy_grad(labels, logits):
    return np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True) - labels
''',
    },
    "partial": {  # the batch mean instead of per-example losses; a sign error
        "q2_answer": OWN_Q2.replace("return -np.sum(labels * log_probs, axis=-1)",
                                    "return np.mean(-np.sum(labels * log_probs, axis=-1))"),
        "q3_answer": '''
def softmax_cross_entropy_grad(labels, logits):
    return labels - np.exp(log_softmax(logits))
''',
    },
    "exception": {
        "q2_answer": '''
def softmax_cross_entropy(labels, logits):
    rows = [logits[i] for i in range(len(logits) + 1)]  # off by one: IndexError
    return np.array(rows)
''',
    },
    "infinite_loop": {
        "q3_answer": OWN_Q3,
        "q1_answer": "def log_softmax(logits):\n" + LOOP,
        "q2_answer": OWN_Q2,
    },
    "sigint_cell": {
        "q3_answer": '''
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)


def softmax_cross_entropy_grad(labels, logits):
''' + LOOP,
    },
    "sigint_call": {
        "q3_answer": '''
import signal


def softmax_cross_entropy_grad(labels, logits):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
''' + LOOP,
    },
    "os_exit": {
        "q2_answer": '''
import os


def softmax_cross_entropy(labels, logits):
    os._exit(0)
''',
    },
    "monkeypatch": {  # the helpers a grader might use, patched to pass; answers are zeros
        "q1_answer": '''
import numpy.testing

np.testing.assert_allclose = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), bool)
setattr(np, "array_equal", lambda *args, **kwargs: True)
''' + ZEROS_01["q1_answer"],
        "q2_answer": ZEROS_01["q2_answer"],
        "q3_answer": ZEROS_01["q3_answer"],
    },
    "input_transformer": {  # nbgrader gave 10/10 to this: every later cell becomes `pass`
        "q1_answer": '''
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])
''' + ZEROS_01["q1_answer"],
        "q2_answer": ZEROS_01["q2_answer"],
        "q3_answer": ZEROS_01["q3_answer"],
    },
    "always_equal": {
        "q1_answer": '''
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0


def log_softmax(logits):
    return AlwaysEqual()
''',
        "q2_answer": "def softmax_cross_entropy(labels, logits):\n    return AlwaysEqual()\n",
        "q3_answer": "def softmax_cross_entropy_grad(labels, logits):\n"
                     "    return [AlwaysEqual()] * len(logits)\n",
    },
    "float_subclass": {  # values of 0 dressed up to pass `abs(a - b) < tol` and `==`
        "q1_answer": '''
class Sneaky(float):
    def __abs__(self):
        return Sneaky(0.0)

    def __sub__(self, other):
        return Sneaky(0.0)

    __rsub__ = __sub__

    def __lt__(self, other):
        return True

    __le__ = __lt__

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class SneakyArray(np.ndarray):
    def __sub__(self, other):
        return np.zeros(self.shape).view(SneakyArray)

    __rsub__ = __sub__

    def __abs__(self):
        return np.zeros(self.shape).view(SneakyArray)

    def __lt__(self, other):
        return np.ones(self.shape, bool)

    __le__ = __lt__

    def __eq__(self, other):
        return np.ones(self.shape, bool)


def log_softmax(logits):
    return np.zeros(logits.shape).view(SneakyArray)
''',
        "q2_answer": "def softmax_cross_entropy(labels, logits):\n"
                     "    return np.array([Sneaky(0.0) for _ in logits])\n",
        "q3_answer": "def softmax_cross_entropy_grad(labels, logits):\n"
                     "    return np.zeros(logits.shape).view(SneakyArray)\n",
    },
    "huge_output": {  # 32 MB back from log_softmax; 10 MB of prints in the CE, which is right
        "q1_answer": "def log_softmax(logits):\n    return np.zeros((2000, 2000))\n",
        "q3_answer": OWN_Q3,
        "q2_answer": OWN_Q2.replace("def softmax_cross_entropy(labels, logits):\n",
                                    "def softmax_cross_entropy(labels, logits):\n"
                                    "    print('x' * 10_000_000)\n"),
    },
    "memory_bomb": {
        "q3_answer": OWN_Q3,
        "q1_answer": '''
def log_softmax(logits):
    hoard = []
    while True:
        hoard.append(bytearray(100_000_000))  # 100 MB at a time, until none is left
''',
        "q2_answer": OWN_Q2,
    },
    "fork": {  # forks a child that tries to outlive grading; the answer itself is right
        "q1_answer": '''
import os
import time


def log_softmax(logits):
    if os.fork() == 0:
        try:
            while True:
                time.sleep(1)
        finally:
            os._exit(0)
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
''',
    },
    "read_solutions": {  # looks for course_lib or solutions/ and uses them if found
        "q1_answer": '''
import glob
import json
import os
import sys

FOUND = {}


def _candidates():
    dirs = {os.getcwd(), "/autograder/source", "/work", "/home", "/root", "/srv", "/tmp"}
    for entry in sys.path:
        path = os.path.abspath(entry)
        for _ in range(6):
            dirs.add(path)
            path = os.path.dirname(path)
        for finder in glob.glob(os.path.join(entry, "__editable__*course_lib*finder.py")):
            for word in open(finder).read().replace('"', "'").split("'"):
                if word.endswith("course_lib"):
                    dirs.add(os.path.dirname(word))
    for d in list(dirs):
        try:
            dirs.update(os.path.join(d, e) for e in os.listdir(d))
        except OSError:
            pass
    return sorted(dirs)


def _find():
    if FOUND:
        return FOUND if "log_softmax" in FOUND else {}
    for d in _candidates():
        notebook = os.path.join(d, "solutions", "01_softmax.ipynb")
        if os.path.isfile(notebook):
            cells = json.load(open(notebook))["cells"]
            FOUND["np"] = np
            for cell in cells:
                if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                    exec("".join(cell["source"]), FOUND)
            return FOUND
        if os.path.isfile(os.path.join(d, "course_lib", "nn", "__init__.py")):
            sys.path.insert(0, d)
            from course_lib import nn
            FOUND["log_softmax"] = nn.log_softmax
            FOUND["softmax_cross_entropy"] = nn.softmax_cross_entropy_with_logits
            FOUND["softmax_cross_entropy_grad"] = (
                lambda z, x: nn.softmax_cross_entropy_with_logits_grad(z, x)[1])
            return FOUND
    FOUND["searched"] = True
    return {}


def log_softmax(logits):
    found = _find()
    return found["log_softmax"](logits) if found else np.zeros_like(logits)
''',
        "q2_answer": '''
def softmax_cross_entropy(labels, logits):
    found = _find()
    return found["softmax_cross_entropy"](labels, logits) if found else np.zeros(len(logits))
''',
        "q3_answer": '''
def softmax_cross_entropy_grad(labels, logits):
    found = _find()
    return found["softmax_cross_entropy_grad"](labels, logits) if found else 0 * logits
''',
    },
    "fake_results": {  # forges results files wherever it can reach; answers are zeros
        "q1_answer": '''
import glob
import json
import os

FAKE = json.dumps({"score": 10, "tests": [], "output": "forged"})
targets = ["results.json", "../results/results.json", "/autograder/results/results.json",
           "grades/fake_results/results.json", "/tmp/results.json"]
targets += glob.glob("/tmp/**/results.json", recursive=True)
targets += glob.glob("/autograder/**/results.json", recursive=True)
for target in targets:
    try:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "w") as f:
            f.write(FAKE)
    except OSError:
        pass
''' + ZEROS_01["q1_answer"],
        "q2_answer": ZEROS_01["q2_answer"],
        "q3_answer": ZEROS_01["q3_answer"],
    },
    "network": {  # would fetch answers from a server on 127.0.0.1 (the test runs one)
        "q1_answer": '''
import socket


def _phone_home():
    for port in range(47900, 47910):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"hidden inputs, exfiltrated")
                return True
        except OSError:
            continue
    return False


ONLINE = _phone_home()
''' + ZEROS_01["q1_answer"].replace("    return np.zeros_like(logits)",
                                    "    return np.zeros_like(logits) if not ONLINE else None"),
        "q2_answer": ZEROS_01["q2_answer"],
        "q3_answer": ZEROS_01["q3_answer"],
    },
    "syntax_error": {
        "q2_answer": OWN_Q2.replace("(labels, logits):", "(labels, logits)"),
    },
    "missing_function": {
        "q3_answer": '''
def softmax_ce_grad(labels, logits):
    return np.exp(log_softmax(logits)) - labels
''',
    },
    "protocol_garbage": {  # forged and garbage replies on every descriptor, a 20 MB line
        "q3_answer": OWN_Q3,
        "q1_answer": '''
import os


def log_softmax(logits):
    for fd in range(3, 12):
        try:
            os.write(fd, b'{"type": "result", "index": 0, "score": 100, "passed": true}\\n')
            os.write(fd, b"\\x00\\xffnot json\\n")
        except OSError:
            pass
    return np.zeros_like(logits)
''',
        "q2_answer": '''
def softmax_cross_entropy(labels, logits):
    for fd in range(3, 12):
        try:
            os.write(fd, b"[" * 20_000_000)
        except OSError:
            pass
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return -np.sum(labels * (shifted - np.log(np.sum(np.exp(shifted), -1, keepdims=True))), -1)
''',
    },
}

# ---------------------------------------------------------------- 02_sigmoid
A02 = {
    "alternative": {
        "q1_answer": '''
def sigmoid_cross_entropy(labels, logits):
    return np.logaddexp(0, logits) - logits * labels
''',
        "q2_answer": '''
def two_class_logits(logits):
    return np.stack([-logits / 2, logits / 2], axis=1)
''',
        "q3_answer": '''
def sigmoid_logit_from_two_class(logits):
    return np.diff(logits, axis=1)[:, 0]
''',
    },
    "partial": {
        "q1_answer": '''
def sigmoid_cross_entropy(labels, logits):
    p = 1 / (1 + np.exp(-logits))
    return -labels * np.log(p) - (1 - labels) * np.log(1 - p)
''',
        "q2_answer": '''
def two_class_logits(logits):
    return np.stack([logits, np.zeros_like(logits)], axis=1)
''',
    },
    "exception": {
        "q3_answer": '''
def sigmoid_logit_from_two_class(logits):
    raise ValueError("not sure which column is which")
''',
    },
    "os_exit": {
        "q2_answer": '''
import os


def two_class_logits(logits):
    os._exit(3)
''',
    },
    "cell_loop": {  # the answer cell itself never finishes
        "q1_answer": '''
def sigmoid_cross_entropy(labels, logits):
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


while True:
    pass
''',
    },
}

# ---------------------------------------------------------------- 03_sparse_weights
A03 = {
    "alternative": {
        "q1_answer": '''
def sparse_softmax_cross_entropy(labels, logits):
    onehot = np.eye(logits.shape[-1])[labels]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -(onehot * log_probs).sum(axis=-1)
''',
        "q2_answer": '''
def reduce_weighted(losses, weights, reduction):
    total = float((weights * losses).sum())
    if reduction == "weighted_sum":
        return total
    if reduction == "weighted_mean":
        count = float(weights.sum())
    elif reduction == "weighted_sum_over_batch_size":
        count = float(losses.size)
    else:
        count = float((weights != 0).sum())
    return 0.0 if count == 0 else total / count
''',
        "q3_answer": '''
def weighted_cross_entropy(labels, logits, pos_weight):
    return (pos_weight * labels * np.logaddexp(0, -logits)
            + (1 - labels) * np.logaddexp(0, logits))
''',
    },
    "partial": {
        "q2_answer": '''
def reduce_weighted(losses, weights, reduction):
    total = np.sum(weights * losses)
    if reduction == "weighted_sum_over_batch_size":
        return total / losses.size
    return total / np.count_nonzero(weights)  # the mean is wrong, and 0/0 gives nan
''',
        "q3_answer": '''
def weighted_cross_entropy(labels, logits, pos_weight):
    p = 1 / (1 + np.exp(-logits))
    return -pos_weight * labels * np.log(p) - (1 - labels) * np.log(1 - p)
''',
    },
    "exception": {
        "q1_answer": '''
def sparse_softmax_cross_entropy(labels, logits):
    return logits[np.arange(len(labels) + 1), labels]  # off by one: IndexError
''',
    },
    "monkeypatch": {
        "q2_answer": '''
import builtins

builtins.abs = lambda x: 0
np.testing.assert_allclose = lambda *args, **kwargs: None


def reduce_weighted(losses, weights, reduction):
    return 0.0
''',
    },
}

# ---------------------------------------------------------------- 04_choose_the_loss
A04 = {
    "alternative": {
        "q1_answer": '''
def imbalanced_binary(labels, logits, pos_weight):
    return (pos_weight * labels * tf.nn.softplus(-logits)
            + (1 - labels) * tf.nn.softplus(logits))
''',
        "q2_answer": '''
import keras


def exclusive_classes(labels, logits):
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
''',
        "q3_answer": '''
def multi_label(labels, logits):
    return tf.nn.softplus(logits) - logits * labels
''',
        "q4_answer": '''
def distillation(teacher_logits, student_logits, temperature):
    targets = tf.nn.softmax(teacher_logits / temperature)
    return keras.losses.categorical_crossentropy(targets, student_logits / temperature,
                                                 from_logits=True)
''',
        "q5_answer": '''
def huge_vocabulary(weights, biases, labels, inputs, sampled_values):
    return tf.nn.sampled_softmax_loss(
        weights=weights, biases=biases, labels=labels, inputs=inputs,
        num_sampled=int(sampled_values[0].shape[0]), num_classes=int(weights.shape[0]),
        sampled_values=sampled_values, remove_accidental_hits=True)
''',
    },
    "partial": {
        "q1_answer": '''
def imbalanced_binary(labels, logits, pos_weight):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)  # pos_weight forgotten
''',
        "q2_answer": '''
def exclusive_classes(labels, logits):
    onehot = tf.one_hot(labels, logits.shape[-1])
    return tf.nn.softmax_cross_entropy_with_logits(onehot, logits)  # right, the long way
''',
        "q3_answer": '''
def multi_label(labels, logits):
    return tf.nn.softmax_cross_entropy_with_logits(labels, logits)  # not exclusive classes
''',
        "q4_answer": '''
def distillation(teacher_logits, student_logits, temperature):
    targets = tf.nn.softmax(teacher_logits / temperature)
    return tf.nn.softmax_cross_entropy_with_logits(targets, student_logits)  # T forgotten
''',
        "q5_answer": '''
def huge_vocabulary(weights, biases, labels, inputs, sampled_values):
    return tf.nn.sampled_softmax_loss(weights, biases, labels, inputs, num_samples=10)
''',
    },
}

# ---------------------------------------------------------------- 05_sampled_softmax
A05 = {
    "alternative": {
        "q1_answer": '''
def sampled_logits(weights, biases, labels, inputs, sampled_values):
    candidates, true_count, sampled_count = sampled_values
    rows = []
    for b in range(len(inputs)):
        y = labels[b, 0]
        row = [inputs[b] @ weights[y] + biases[y] - np.log(true_count[b, 0])]
        for s, c in enumerate(candidates):
            hit = -np.inf if c == y else 0.0
            row.append(inputs[b] @ weights[c] + biases[c] - np.log(sampled_count[s]) + hit)
        rows.append(row)
    return np.array(rows)
''',
        "q2_answer": '''
def sampled_softmax_loss(weights, biases, labels, inputs, sampled_values):
    logits = sampled_logits(weights, biases, labels, inputs, sampled_values)
    return np.logaddexp.reduce(logits, axis=1) - logits[:, 0]
''',
    },
    "partial": {  # accidental hits not removed
        "q1_answer": '''
def sampled_logits(weights, biases, labels, inputs, sampled_values):
    candidates, true_count, sampled_count = sampled_values
    y = labels[:, 0]
    true_logit = np.sum(inputs * weights[y], axis=1) + biases[y] - np.log(true_count[:, 0])
    sampled = inputs @ weights[candidates].T + biases[candidates] - np.log(sampled_count)
    return np.concatenate([true_logit[:, None], sampled], axis=1)
''',
    },
    "exception": {
        "q2_answer": '''
def sampled_softmax_loss(weights, biases, labels, inputs, sampled_values):
    return {"loss": 0}["total"]
''',
    },
}

FIXTURES: dict[str, dict[str, dict[str, str]]] = {
    "01_softmax": A01, "02_sigmoid": A02, "03_sparse_weights": A03,
    "04_choose_the_loss": A04, "05_sampled_softmax": A05,
}
CORRUPT = {"01_softmax": "corrupt"}  # written as a truncated JSON file

# Expected (score, flags) of every fixture; "reference" and "template" are the notebooks in
# solutions/ and exercises/.
EXPECTED: dict[str, dict[str, tuple[float, tuple[str, ...]]]] = {
    "01_softmax": {
        "reference": (10, ()), "template": (0, ()), "alternative": (10, ()),
        "naive": (4, ()), "partial": (4, ()), "exception": (7, ()),
        "infinite_loop": (6, ()), "sigint_cell": (7, ("import:signal",)),
        "sigint_call": (7, ("import:signal",)), "os_exit": (7, ("import:os",)),
        "monkeypatch": (0, ("monkeypatch:np.allclose", "monkeypatch:np.array_equal",
                            "monkeypatch:np.isclose", "monkeypatch:np.testing.assert_allclose")),
        "input_transformer": (0, ("ipython",)), "always_equal": (0, ()),
        "float_subclass": (0, ()), "huge_output": (6, ()), "memory_bomb": (6, ()),
        "fork": (10, ("import:os",)),
        "read_solutions": (0, ("forbidden-import:course_lib", "import:os")),
        "fake_results": (0, ("import:os",)), "network": (0, ("import:socket",)),
        "corrupt": (0, ()), "syntax_error": (7, ()), "missing_function": (7, ()),
        "protocol_garbage": (3, ("import:os",)),
    },
    "02_sigmoid": {
        "reference": (10, ()), "template": (0, ()), "alternative": (10, ()),
        "partial": (4, ()), "exception": (7, ()), "os_exit": (7, ("import:os",)),
        "cell_loop": (6, ()),
    },
    "03_sparse_weights": {
        "reference": (10, ()), "template": (0, ()), "alternative": (10, ()),
        "partial": (6, ()), "exception": (7, ()),
        "monkeypatch": (7, ("monkeypatch:builtins.abs",
                            "monkeypatch:np.testing.assert_allclose")),
    },
    "04_choose_the_loss": {
        "reference": (10, ()), "template": (0, ()), "alternative": (10, ()),
        "partial": (2, ()),
    },
    "05_sampled_softmax": {
        "reference": (10, ()), "template": (0, ()), "alternative": (10, ()),
        "partial": (0, ()), "exception": (5, ()),
    },
}
