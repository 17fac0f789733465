"""A warm pool of fresh worker processes: start-up paid ahead, one submission per worker.

Each worker imports NumPy (or TensorFlow) before any submission is assigned to it, so a
grading thread finds one ready; when a worker is taken, a replacement starts warming in the
background while submissions remain. A worker is never reused: it exits (is killed) after its
submission, so nothing one student's code leaves in memory reaches another's.
"""

from __future__ import annotations

import tempfile
import threading
from collections import deque

from course_lib.grading.sandbox import SandboxConfig, UidSlots, Worker, WorkerError

START_ATTEMPTS = 2


class WorkerPool:
    """``size`` warm workers, topped up while ``pending`` submissions are still to start."""

    def __init__(self, config: SandboxConfig, size: int, pending: int,
                 ready_timeout: float) -> None:
        self.config = config
        self.size = max(1, size)
        self.pending = pending
        self.ready_timeout = ready_timeout
        self.scratch = tempfile.mkdtemp(prefix="course-grade-")
        self._uids = UidSlots()
        self._idle: deque[Worker] = deque()
        self._lock = threading.Lock()
        self._closed = False
        with self._lock:
            self._top_up()

    def _top_up(self) -> None:
        """Start workers until ``min(size, pending)`` are warming (call with the lock)."""
        while not self._closed and len(self._idle) < min(self.size, self.pending):
            self._idle.append(Worker(self.config, self.scratch, self._uids))

    def get(self, new_submission: bool) -> Worker:
        """A ready worker; ``new_submission`` is False for a restart within a submission."""
        last_error: WorkerError | None = None
        for _ in range(START_ATTEMPTS):
            with self._lock:
                if new_submission:
                    self.pending = max(0, self.pending - 1)
                    new_submission = False
                worker = self._idle.popleft() if self._idle else None
                if worker is None:
                    worker = Worker(self.config, self.scratch, self._uids)
                self._top_up()
            try:
                worker.wait_ready(self.ready_timeout)
                return worker
            except WorkerError as err:
                worker.kill()
                last_error = err
        raise RuntimeError(f"cannot start a grading worker: {last_error}")

    def skip_one(self) -> None:
        """A submission that needs no worker (unreadable): one fewer to warm up for."""
        with self._lock:
            self.pending = max(0, self.pending - 1)

    def close(self) -> None:
        """Kill the workers nobody took (they never ran student code) and clean up."""
        import shutil

        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
        for worker in idle:
            worker.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)
