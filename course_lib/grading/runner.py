"""The untrusted side: run a submission's answer cells, call its functions, return raw values.

This file is copied into the sandbox and run there as ``python -I -S runner.py ARGS``, with a
``sys.path`` of the standard library and the site-packages directory that holds NumPy (and,
for assignments that allow it, TensorFlow), and NOT ``course_lib``. It therefore imports the
standard library and NumPy only, and nothing it does is trusted: it returns *values*, never
verdicts. The trusted grader compares them with the reference and scores.

Protocol (one JSON object per line, on the descriptor that was stdout when it started):

* ``{"type": "ready"}`` once NumPy (and the assignment's other modules) are imported; then the
  job arrives on stdin as one line: ``{"cells": [source...], "skip": [cell index...],
  "namespace": {name: module}, "tests": [{"index", "function", "args", "kwargs"}...]}``;
* ``{"type": "cell", "index": i, "ok": bool, "error": str}`` after each answer cell ran;
* ``{"type": "result", "index": k, "value": V}`` or ``{..., "error": str, "kind": str}``;
* ``{"type": "done"}``.

Values ``V`` are JSON scalars, ``{"npy": base64 of np.save bytes}`` (``allow_pickle=False``)
or ``{"tuple": [V...]}``. File descriptors 1 and 2 point at /dev/null, so nothing the student
prints can be mistaken for a frame (a student who writes frames by hand only sends answers).
"""

from __future__ import annotations

import base64
import builtins
import importlib
import io
import json
import os
import sys

MAX_VALUE_BYTES = 8 << 20


def _send(out, frame: dict) -> None:
    out.write(json.dumps(frame).encode() + b"\n")
    out.flush()


def _describe(exc: BaseException) -> str:
    """``"IndexError: index 3 is out of bounds (answer cell 2, line 4)"``: the student's line."""
    where = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.startswith("<answer cell"):
            where = f"{name[1:-1]}, line {tb.tb_lineno}"
        tb = tb.tb_next
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename[1:-1]}, line {exc.lineno}" if exc.filename else None
        message = exc.msg
    else:
        message = str(exc).splitlines()[0][:300] if str(exc) else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{text} ({where})" if where else text


def decode(value, np):
    """A job argument back to Python: arrays from ``.npy`` bytes, tuples, JSON scalars."""
    if isinstance(value, dict) and "npy" in value:
        return np.load(io.BytesIO(base64.b64decode(value["npy"])), allow_pickle=False)
    if isinstance(value, dict) and "tuple" in value:
        return tuple(decode(v, np) for v in value["tuple"])
    return value


def encode(value, np) -> dict:
    """A returned value as ``{"npy": ...}``: numbers only (``ValueError`` otherwise)."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"returned {type(value).__name__} holding {arr.dtype}, "
                         "not an array of numbers")
    if arr.nbytes > MAX_VALUE_BYTES:
        raise ValueError(f"returned {arr.nbytes} bytes, more than the {MAX_VALUE_BYTES} allowed")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"npy": base64.b64encode(buf.getvalue()).decode()}


def _warm_up(modules: dict[str, str]) -> dict[str, object]:
    """Import the modules the answer cells may use (NumPy, maybe TensorFlow) before the job."""
    loaded = {name: importlib.import_module(module) for name, module in modules.items()}
    tf = loaded.get("tf")
    if tf is not None:
        tf.get_logger().setLevel("ERROR")
        tf.constant(0.0) + 1.0  # the first op initialises the devices: not the student's time
    return loaded


class Unavailable:
    """A ``sys.meta_path`` finder that refuses the modules an assignment does not provide.

    Without it, ``import tensorflow`` in a NumPy-only assignment dies inside TensorFlow's
    shared library under the worker's memory limit ("failed to map segment"); with it, the
    answer cell gets an error that says what happened in plain words.
    """

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def find_spec(self, fullname, path=None, target=None):
        label = self.names.get(fullname.split(".")[0])
        if label is not None:
            raise ModuleNotFoundError(f"{label} is not available in this assignment: its "
                                      "answer cells may use NumPy only", name=fullname)
        return None


def _run_cells(job: dict, ns: dict, out) -> None:
    for index, source in enumerate(job["cells"]):
        if index in job["skip"]:
            continue
        try:
            code = compile(source, f"<answer cell {index + 1}>", "exec")
            exec(code, ns)
            _send(out, {"type": "cell", "index": index, "ok": True})
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: report, go on
            _send(out, {"type": "cell", "index": index, "ok": False, "error": _describe(exc)})


def _call(test: dict, ns: dict, np) -> dict:
    frame = {"type": "result", "index": test["index"]}
    fn = ns.get(test["function"])
    if fn is None:
        return {**frame, "kind": "missing", "error": f"no function named {test['function']}"}
    if not callable(fn):
        return {**frame, "kind": "missing", "error": f"{test['function']} is not a function"}
    try:
        args = [decode(a, np) for a in test["args"]]
        kwargs = {k: decode(v, np) for k, v in test["kwargs"].items()}
        value = fn(*args, **kwargs)
    except BaseException as exc:
        return {**frame, "kind": "exception", "error": _describe(exc)}
    try:
        return {**frame, "value": encode(value, np)}
    except BaseException as exc:
        return {**frame, "kind": "unencodable", "error": str(exc)[:300]}


def main() -> None:
    args = json.loads(sys.argv[1])
    sys.path.extend(args["site_dirs"])
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    loaded = _warm_up(args["modules"])
    np = loaded.get("np") or importlib.import_module("numpy")
    sys.meta_path.insert(0, Unavailable(args.get("unavailable", {})))
    _send(out, {"type": "ready"})
    job = json.loads(sys.stdin.buffer.readline())
    ns = {"__name__": "__main__", "__builtins__": builtins, **loaded}
    _run_cells(job, ns, out)
    for test in job["tests"]:
        _send(out, _call(test, ns, np))
    _send(out, {"type": "done"})
    os._exit(0)


if __name__ == "__main__":
    main()
