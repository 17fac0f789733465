"""The sandbox's properties, each proved by code that tries to break it.

The fixtures attack through `course grade`; these tests ask a worker directly what it can
see and do, in both namespace modes, and check the fallback without namespaces.
"""

from __future__ import annotations

import base64
import io
import os
import socket
import tempfile

import numpy as np
import pytest

from course_lib.grading import sandbox
from course_lib.grading.sandbox import SandboxConfig, UidSlots, Worker
from tests.grading.conftest import FIXTURES, ROOT, course, read_results

PROBE = '''
import os, socket, sys

def probe(port):
    checks = {}
    checks["uid is unprivileged"] = os.getuid() != 0 and os.geteuid() != 0
    checks["only its own processes"] = sorted(p for p in os.listdir("/proc") if p.isdigit()) \\
        in (["1"], ["1", str(os.getpid())])
    try:
        import course_lib  # noqa: F401
        checks["course_lib not importable"] = False
    except ImportError:
        checks["course_lib not importable"] = True
    checks["no repository"] = not any(os.path.exists(p) for p in (
        REPO + "/solutions", REPO + "/course_lib", REPO + "/exercises", REPO + "/tests"))
    checks["no secrets in the environment"] = not any(
        k.startswith(("COURSE", "PYTEST")) for k in os.environ)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        checks["no network"] = False
    except OSError:
        checks["no network"] = True
    for name, path in (("root file system read-only", "/x"), ("/usr read-only", "/usr/x")):
        try:
            open(path, "w").close()
            checks[name] = False
        except OSError:
            checks[name] = True
    with open("/tmp/scratch", "w") as f:
        f.write("ok")
    checks["/tmp writable"] = True
    import resource
    checks["memory limited"] = resource.getrlimit(resource.RLIMIT_AS)[0] > 0
    return list(checks.values()), list(checks)
'''


def _probe(mode: str) -> dict[str, bool]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    worker = Worker(SandboxConfig(mode, {"np": "numpy"}), tempfile.mkdtemp(), UidSlots())
    try:
        worker.wait_ready(60)
        cells = [f"REPO = {str(ROOT)!r}\n" + PROBE
                 + "def values(port):\n    return probe(port)[0]\n"]
        worker.send_job({"cells": cells, "skip": [], "tests": [
            {"index": 0, "function": "values", "args": [port], "kwargs": {}}]})
        assert worker.read_frame(30) == {"type": "cell", "index": 0, "ok": True}
        frame = worker.read_frame(30)
    finally:
        worker.kill()
    with pytest.raises(TimeoutError):
        listener.accept()               # nothing reached the host's loopback
    listener.close()
    values = np.load(io.BytesIO(base64.b64decode(frame["value"]["npy"])))
    names = ["uid is unprivileged", "only its own processes", "course_lib not importable",
             "no repository", "no secrets in the environment", "no network",
             "root file system read-only", "/usr read-only", "/tmp writable", "memory limited"]
    return dict(zip(names, values.tolist(), strict=True))


def test_this_machine_has_namespaces():
    """The suite proves the real sandbox; the fallback is tested on purpose below."""
    assert sandbox.detect_mode() in ("root", "userns")


@pytest.mark.parametrize("mode", ["root", "userns"] if os.geteuid() == 0 else ["userns"])
def test_worker_sees_a_minimal_world(mode, monkeypatch):
    monkeypatch.setenv("COURSE_GRADING_SECRET", "must not reach the worker")
    checks = _probe(mode)
    assert all(checks.values()), {k: v for k, v in checks.items() if not v}


@pytest.mark.slow
def test_without_namespaces_it_warns_loudly_and_still_grades(tmp_path):
    """COURSE_GRADING_SANDBOX=none: grading works, the warning is everywhere, and the
    solution-reading fixture then gets full marks: the attack is real, the sandbox stops it."""
    env = {**os.environ, "COURSE_GRADING_SANDBOX": "none"}
    done = course("grade", "01_softmax", str(ROOT / "solutions" / "01_softmax.ipynb"),
                  str(FIXTURES / "01_softmax" / "read_solutions.ipynb"), "--out",
                  str(tmp_path), "--seed", "1", "--timeout", "2", env=env)
    assert done.returncode == 0, done.stderr
    assert "WARNING: no sandbox" in done.stderr
    assert read_results(tmp_path, "01_softmax")["score"] == 10
    results = read_results(tmp_path, "read_solutions")
    assert "WARNING: no sandbox" in results["output"]
    assert results["score"] == 10


def test_a_bound_tree_under_tmp_still_gets_a_private_tmp(monkeypatch):
    """CI clones the repository, .venv included, under /tmp: a bind below /tmp must land in
    the sandbox's own /tmp (it once failed with 'File exists: .../root/tmp')."""
    extra = tempfile.mkdtemp(dir="/tmp")
    original = SandboxConfig.bootstrap_config

    def with_bind_under_tmp(self, *args, **kwargs):
        cfg = original(self, *args, **kwargs)
        cfg["binds"].append(extra)
        return cfg

    monkeypatch.setattr(SandboxConfig, "bootstrap_config", with_bind_under_tmp)
    checks = _probe(sandbox.detect_mode())
    assert all(checks.values()), {k: v for k, v in checks.items() if not v}
