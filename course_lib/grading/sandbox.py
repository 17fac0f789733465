"""The sandbox: start an untrusted worker process in Linux namespaces, talk to it, kill it.

Three modes, chosen once per grading run by :func:`detect_mode`:

* ``root`` (the grader runs as root): ``unshare --mount --net --pid``; the worker drops to a
  real unprivileged uid (one per concurrently running worker, so their process limits are
  separate);
* ``userns`` (a normal user where user namespaces are enabled): ``unshare --user
  --map-root-user --mount --net --pid``; the worker ends as uid 65534 of a nested namespace;
* ``none`` (the OS allows neither): rlimits, a private temporary directory, a process group
  and, as root, an unprivileged uid; no file-system or network isolation, which the grader
  reports loudly (:data:`NO_SANDBOX_WARNING`).

In the first two the worker sees a minimal root file system built by ``bootstrap.py``: the
interpreter, the site-packages directories with an installed ``course_lib`` covered, /dev's
four harmless devices, its own /proc and a small /tmp. The repository, the solutions, the
grades directory, the other submissions and the host's network are simply not there. Every
worker is killed with SIGKILL to its process group; as PID 1 of its PID namespace, its death
also kills anything it forked.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# A frame carries at most one value of runner.MAX_VALUE_BYTES, base64-encoded, plus JSON.
MAX_FRAME_BYTES = (8 << 20) * 4 // 3 + (64 << 10)
UNSHARE = {"root": ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child"],
           "userns": ["unshare", "--user", "--map-root-user", "--mount", "--net", "--pid",
                      "--fork", "--kill-child"]}
NO_SANDBOX_WARNING = (
    "WARNING: no sandbox. This system allows no Linux namespaces (unshare --mount --net "
    "--pid{user}), so student code runs without file-system or network isolation: it can read "
    "any file its uid can read (the solutions, course_lib, other submissions) and reach the "
    "network. Limits, timeouts and the trusted comparison still apply. Grade on a machine with "
    "namespaces (or inside a container started with them allowed) for the full protection.")
UID_BASE = 61000  # unprivileged uids for workers when the grader is root
_PDEATHSIG = ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


class WorkerError(Exception):
    """The worker broke the protocol: ``kind`` is timeout, exited, too-large or garbage."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@functools.cache
def detect_mode() -> str:
    """``root``, ``userns`` or ``none``: the strongest isolation this system allows.

    ``COURSE_GRADING_SANDBOX=none`` forces the fallback (to test it, or to diagnose).
    """
    forced = os.environ.get("COURSE_GRADING_SANDBOX")
    if forced in ("root", "userns", "none"):
        return forced
    mode = "root" if os.geteuid() == 0 else "userns"
    if shutil.which("unshare") is None:
        return "none"
    try:
        probe = subprocess.run([*UNSHARE[mode], "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "none"
    return mode if probe.returncode == 0 else "none"


def warning_for(mode: str) -> str | None:
    """The loud warning to print when ``mode`` gives no isolation, else None."""
    if mode != "none":
        return None
    return NO_SANDBOX_WARNING.format(user="" if os.geteuid() == 0 else " --user")


def _site_dirs(modules: dict[str, str]) -> list[str]:
    """The site-packages directories that hold ``modules`` (NumPy's, TensorFlow's, ...)."""
    import importlib.util

    dirs = []
    for module in modules.values():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"cannot grade: module {module!r} is not installed")
        site = str(Path(spec.origin).resolve().parents[1])
        if site not in dirs:
            dirs.append(site)
    return dirs


def _hidden_paths(binds: list[str]) -> list[str]:
    """``course_lib`` (the reference answers) wherever it is installed inside a bound tree."""
    package = HERE.parent
    return [str(package) for b in binds if package.is_relative_to(b)]


def _world_usable(path: str) -> bool:
    """Can any uid reach and read ``path`` (every parent searchable by others)?"""
    p = Path(path).resolve()
    for part in [p, *p.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH or (part == p and not mode & stat.S_IROTH):
            return False
    return True


def can_drop_uid(modules: dict[str, str]) -> bool:
    """Without namespaces, root can run workers as another uid only if it can read Python."""
    paths = [os.path.realpath(sys.executable), sys.base_prefix, *_site_dirs(modules)]
    return os.geteuid() == 0 and all(_world_usable(p) for p in paths)


@dataclass(frozen=True)
class SandboxConfig:
    """What every worker of one grading run gets: mode, modules to pre-import, limits."""

    mode: str
    modules: dict[str, str]          # name in the answer cells' namespace -> module
    memory_mb: int = 1024
    cpu_seconds: int = 120
    tmp_mb: int = 32
    # modules refused in the answer cells with a plain message: {top-level name: label}
    unavailable: dict[str, str] = field(default_factory=dict)

    def bootstrap_config(self, newroot: str, uid: int, workdir: str | None) -> dict:
        """The JSON that ``bootstrap.py`` gets: what to mount, hide, limit and run."""
        python = os.path.realpath(sys.executable)
        prefix = os.path.realpath(sys.base_prefix)
        sites = _site_dirs(self.modules)
        binds = [p for p in ("/usr", "/etc", prefix, *sites) if os.path.exists(p)]
        binds = [b for b in binds if not any(b != o and b.startswith(o + "/") for o in binds)]
        env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
               if k in os.environ}
        drop = self.mode != "none" or can_drop_uid(self.modules)
        limits = {"AS": self.memory_mb << 20, "CPU": self.cpu_seconds, "FSIZE": 16 << 20,
                  "NOFILE": 256, "CORE": 0}
        if drop and self.mode != "userns":   # a uid of its own, whose process count it limits
            limits["NPROC"] = 512            # threads count too (TensorFlow starts dozens)
        return {
            "mode": self.mode, "newroot": newroot, "binds": binds,
            "masks": _hidden_paths(binds), "python": python, "tmp_mb": self.tmp_mb,
            "runner_source": (HERE / "runner.py").read_text(), "env": env,
            "uid": uid if drop else None, "rlimits": limits,
            "workdir": workdir, "runner_path": workdir and os.path.join(workdir, "runner.py"),
            "runner_args": {"site_dirs": sites, "modules": self.modules,
                            "unavailable": self.unavailable},
        }


class UidSlots:
    """Unprivileged uids handed to concurrently running workers, never two at once."""

    def __init__(self) -> None:
        self._free: list[int] = []
        self._next = UID_BASE
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            if self._free:
                return self._free.pop()
            self._next += 1
            return self._next - 1

    def give_back(self, uid: int) -> None:
        with self._lock:
            self._free.append(uid)


class Worker:
    """One untrusted process: started warm, given one job, read frame by frame, then killed."""

    def __init__(self, config: SandboxConfig, scratch: str, uids: UidSlots) -> None:
        self.config, self._uids = config, uids
        self.uid = uids.take()
        self.workdir = None
        if config.mode == "none":
            self.workdir = tempfile.mkdtemp(prefix="worker-", dir=scratch)
            shutil.copy(HERE / "runner.py", self.workdir)
            os.chmod(scratch, 0o711)                       # the worker's uid passes through
            if os.geteuid() == 0:
                os.chown(self.workdir, self.uid, self.uid)
        newroot = os.path.join(scratch, "root")
        os.makedirs(newroot, exist_ok=True)
        cfg = self.config.bootstrap_config(newroot, self.uid, self.workdir)
        # If the grader dies, setpriv's parent-death signal kills unshare, and --kill-child
        # (or the bootstrap's own parent-death signal) kills the worker: nothing is orphaned.
        prefix = [*_PDEATHSIG, *UNSHARE.get(config.mode, [])]
        cmd = [*prefix, os.path.realpath(sys.executable), "-I", "-S", "-B",
               str(HERE / "bootstrap.py"), json.dumps(cfg)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True,
                                     close_fds=True, cwd=self.workdir or "/")
        self._buffer = bytearray()
        self.ready = False

    def wait_ready(self, timeout: float) -> None:
        """Block until the worker has imported its modules; WorkerError if it never does."""
        if self.ready:
            return
        try:
            frame = self.read_frame(timeout)
        except WorkerError as err:
            raise WorkerError(err.kind, f"worker did not start: {self._stderr()}") from None
        if frame.get("type") != "ready":
            raise WorkerError("garbage", "worker did not start")
        self.ready = True

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read(4000).decode(errors="replace").strip()

    def send_job(self, job: dict) -> None:
        """Write the job line; the worker reads it whole before running any student code."""
        try:
            self.proc.stdin.write(json.dumps(job).encode() + b"\n")
            self.proc.stdin.close()
        except OSError as exc:
            raise WorkerError("exited", str(exc)) from None

    def read_frame(self, timeout: float) -> dict:
        """The next frame, within ``timeout`` seconds; WorkerError on anything else.

        Reads at most MAX_FRAME_BYTES of one line: a worker that sends more (or sends it
        slowly) fails the current test without making the grader copy or scan it twice.
        """
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        end = self._buffer.find(b"\n")          # a frame left over from the last read
        while end < 0:
            if len(self._buffer) > MAX_FRAME_BYTES:
                raise WorkerError("too-large", f"more than {MAX_FRAME_BYTES} bytes in one reply")
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise WorkerError("timeout")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise WorkerError("exited", self._exit_reason())
            newline = chunk.find(b"\n")               # scan each byte once
            if newline >= 0:
                end = len(self._buffer) + newline
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        try:
            frame = json.loads(line)
        except ValueError:
            raise WorkerError("garbage", "unreadable reply") from None
        if not isinstance(frame, dict):
            raise WorkerError("garbage", "unreadable reply")
        return frame

    def _exit_reason(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "closed its output"
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exited with status {code}"

    def kill(self) -> None:
        """SIGKILL the whole process group (not SIGINT: it can be ignored), reap, clean up."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._uids.give_back(self.uid)
