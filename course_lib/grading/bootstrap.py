"""Sandbox bootstrap: runs *inside* fresh namespaces, before any student code exists.

Started by ``course_lib.grading.sandbox`` as ``unshare ... -- python -I -S bootstrap.py CONFIG``
(or directly, without namespaces, when the OS allows none). Standard library only: it runs
with a clean ``sys.path`` and must not import ``course_lib``. In order it

1. builds a new root file system on a tmpfs that holds read-only bind mounts of only what the
   interpreter needs (``/usr``, ``/etc``, the Python prefix, the site-packages directories),
   ``/dev/{null,zero,random,urandom}``, a fresh ``/proc`` of the new PID namespace, a small
   writable ``/tmp`` and the runner script; paths to hide that lie inside a bound tree
   (an installed ``course_lib``) are covered by empty read-only mounts;
2. ``pivot_root``s into it and detaches the old root, so no path leads back to the host's
   files (a ``chroot`` could be escaped by a process that creates its own user namespace);
3. sets resource limits, drops to an unprivileged uid (a real one when started as root, a
   nested user namespace otherwise), sets ``no_new_privs`` and clears the environment;
4. ``exec``s the runner, which therefore starts with no capabilities at all.

Any failure is printed to stderr and exits with status 70, before the runner starts.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
# pivot_root has no glibc wrapper: call it by number.
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "arm64": 41}
ST_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC}
DEVICES = ("null", "zero", "random", "urandom")
LIMITS = {"AS": resource.RLIMIT_AS, "CPU": resource.RLIMIT_CPU, "FSIZE": resource.RLIMIT_FSIZE,
          "NOFILE": resource.RLIMIT_NOFILE, "NPROC": resource.RLIMIT_NPROC,
          "CORE": resource.RLIMIT_CORE}

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    """mount(2) through libc."""
    def enc(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source} on {target}")


def _locked_flags(path: str) -> int:
    """nosuid/nodev/noexec of the mount at ``path``: a user namespace may not clear them."""
    f_flag = os.statvfs(path).f_flag
    return sum(ms for st, ms in ST_FLAGS.items() if f_flag & st)


def bind_readonly(source: str, target: str, nodev: bool = True) -> None:
    """Bind ``source`` on ``target`` (created like it), then make the bind read-only."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (MS_NODEV if nodev else 0)
    mount(None, target, None, flags | _locked_flags(target))


def build_root(cfg: dict) -> None:
    """Steps 1-2 of the module doc: the minimal root, then pivot_root into it."""
    root = cfg["newroot"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)          # nothing we mount reaches the host
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for name in ("bin", "lib", "lib64", "sbin"):          # merged-/usr symlinks, as on the host
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), root + host)
    # The private /tmp first: a bound tree may itself lie under /tmp (a checkout and its
    # .venv cloned there, as CI does), and its mount point must then sit inside this tmpfs.
    os.makedirs(root + "/tmp")
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={cfg['tmp_mb']}m,mode=1777")
    for source in cfg["binds"]:
        bind_readonly(source, root + source)
    for dev in DEVICES:
        bind_readonly("/dev/" + dev, f"{root}/dev/{dev}", nodev=False)
    for hidden in cfg["masks"]:                           # e.g. an installed course_lib
        os.makedirs(root + hidden, exist_ok=True)
        mount("tmpfs", root + hidden, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(root + "/runner")
    with open(root + "/runner/runner.py", "w") as f:
        f.write(cfg["runner_source"])
    os.makedirs(root + "/.old")
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    number = SYS_PIVOT_ROOT[platform.machine()]
    _check(libc.syscall(number, root.encode(), (root + "/.old").encode()), "pivot_root")
    os.chdir("/")
    _check(libc.umount2(b"/.old", MNT_DETACH), "umount old root")


def set_limits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        resource.setrlimit(LIMITS[name], (value, value))


def drop_privileges(cfg: dict) -> None:
    """An unprivileged uid: a real one as root, else uid 65534 of a nested user namespace."""
    if cfg["mode"] == "root" or (cfg["mode"] == "none" and cfg["uid"] is not None):
        uid = cfg["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)                        # all ids non-zero: capabilities gone
    elif cfg["mode"] == "userns":
        _check(libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        for name, text in (("setgroups", "deny"), ("uid_map", "65534 0 1"),
                           ("gid_map", "65534 0 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)                              # exec as uid 65534 clears the caps
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def main() -> None:
    cfg = json.loads(sys.argv[1])
    try:
        if cfg["mode"] != "none":
            build_root(cfg)
            runner = "/runner/runner.py"
        else:
            runner = cfg["runner_path"]
            os.chdir(cfg["workdir"])
        set_limits(cfg["rlimits"])
        drop_privileges(cfg)
        # Die with the process that started us (unshare, or the grader without namespaces);
        # set after the uid change, which clears it, and kept by exec.
        _check(libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
        os.chdir("/tmp" if cfg["mode"] != "none" else cfg["workdir"])
    except Exception as exc:  # report, never run student code in a half-built sandbox
        print(f"sandbox bootstrap failed: {exc}", file=sys.stderr, flush=True)
        os._exit(70)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
           "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.update(cfg.get("env", {}))
    python = cfg["python"]
    os.execve(python, [python, "-I", "-S", "-B", runner, json.dumps(cfg["runner_args"])], env)


if __name__ == "__main__":
    main()
