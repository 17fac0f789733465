"""Start a documented server command (``make lab``, ``make chooser``, ...) for a test, then stop it.

The command runs in its own process group with every Jupyter directory in a temporary home, on
a free port given through the Makefile's ``LAB_ARGS`` / ``VOILA_ARGS`` (read from the
environment, so the command itself is run exactly as the docs print it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-test-token"
START_TIMEOUT = 120   # s: a cold first start on a busy 2-core machine


def free_port() -> int:
    """A port nobody listens on now (the servers get port_retries=0, so no silent move)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env(home: Path) -> dict[str, str]:
    """The environment with Jupyter's config, data, runtime dirs and caches inside ``home``."""
    env = dict(os.environ)
    for var, name in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("MPLCONFIGDIR", "mpl"),
                      ("XDG_CACHE_HOME", "cache"), ("TMPDIR", "tmp"), ("IPYTHONDIR", "ipython")):
        (home / name).mkdir(parents=True, exist_ok=True)
        env[var] = str(home / name)
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    env.update(TF_CPP_MIN_LOG_LEVEL="3", BROWSER="true", JUPYTER_PLATFORM_DIRS="1")
    return env


def copy_course(dest: Path) -> Path:
    """Copy the working tree (no .git, no caches, no grades) to ``dest``; its .venv is the real
    one, through a symlink. Returns ``dest``."""
    skip = {".git", ".venv", ".pytest_cache", ".ruff_cache", ".hypothesis", "grades",
            "submissions", "__pycache__"}
    shutil.copytree(ROOT, dest, ignore=lambda _dir, names: [n for n in names if n in skip],
                    symlinks=True)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    # make decides by dates whether .venv is stale: the copy's pyproject.toml must not look
    # newer than the install, or `make` would reinstall the shared .venv from the copy
    stamp = (ROOT / ".venv" / ".installed").stat().st_mtime
    os.utime(dest / "pyproject.toml", (stamp - 1, stamp - 1))
    return dest


def server_args(kind: str, port: int, home: Path) -> str:
    """What the Makefile's LAB_ARGS / VOILA_ARGS get: no browser, this port, no port hopping."""
    if kind == "voila":
        return f"--no-browser --Voila.ip=127.0.0.1 --port={port} --Voila.port_retries=0"
    (home / "workspaces").mkdir(exist_ok=True)
    (home / "settings").mkdir(exist_ok=True)
    return (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
            f"--ServerApp.port_retries=0 --IdentityProvider.token={TOKEN} "
            f"--LabApp.workspaces_dir={home / 'workspaces'} "
            f"--LabApp.user_settings_dir={home / 'settings'}")


@contextmanager
def running(command: str, *, cwd: Path, home: Path, kind: str) -> Iterator[str]:
    """Run the shell ``command`` (a server) in ``cwd``; yield its base URL once it answers.

    ``kind`` is "lab" or "voila" (which of LAB_ARGS / VOILA_ARGS gets the port), or
    "activated" (a bare ``jupyter ...`` with .venv/bin first on PATH, configured by file).
    The server is stopped with SIGTERM to its process group (SIGKILL after 20 s).
    """
    port = free_port()
    env = quiet_env(home)
    if kind == "activated":
        # a bare `jupyter lab ...` in an activated environment: the same settings as LAB_ARGS,
        # given through the (temporary) user config file instead
        env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(ROOT / ".venv")
        (home / "workspaces").mkdir(exist_ok=True)
        (home / "settings").mkdir(exist_ok=True)
        config = {"ServerApp": {"ip": "127.0.0.1", "port": port, "port_retries": 0,
                                "open_browser": False, "allow_root": True},
                  "IdentityProvider": {"token": TOKEN},
                  "LabApp": {"workspaces_dir": str(home / "workspaces"),
                             "user_settings_dir": str(home / "settings")}}
        (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    else:
        env["LAB_ARGS" if kind == "lab" else "VOILA_ARGS"] = server_args(kind, port, home)
    log = home / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    probe = f"{base}/voila/static/voila.js" if kind == "voila" \
        else f"{base}/api/status?token={TOKEN}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{command!r} exited with {process.returncode}:\n"
                                     f"{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(probe, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{command!r} did not answer {probe} in "
                                         f"{START_TIMEOUT} s:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group (a server shuts its kernels down), SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, *, follow: bool = True, timeout: float = 30) -> tuple[int, dict, bytes]:
    """``(status, headers, body)`` of a GET (a redirect is returned, not followed, if asked)."""
    opener = urllib.request.build_opener(*([] if follow else [NoRedirect()]))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def get_json(url: str):
    status, _, body = get(url)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


def page_config(base: str, path: str = "/lab") -> dict:
    """The ``jupyter-config-data`` JSON that JupyterLab embeds in its page."""
    status, _, body = get(f"{base}{path}?token={TOKEN}")
    assert status == 200, status
    text = body.decode()
    start = text.index('id="jupyter-config-data"')
    start = text.index(">", start) + 1
    return json.loads(text[start:text.index("</script>", start)])


def build_site(out: Path) -> Path:
    """Build the static site into ``out`` as `make site` does; fail with Sphinx's report."""
    import sys

    build = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out",
                            str(out)], capture_output=True, text=True, cwd=ROOT)
    assert build.returncode == 0, f"make site failed:\n{build.stdout}\n{build.stderr}"
    assert "WARNING" not in build.stderr, build.stderr
    return out
