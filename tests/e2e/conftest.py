"""Browser tests: real JupyterLab and Voilà servers on 127.0.0.1, driven by Debian's Chromium.

Run with ``make test-e2e`` (``make test`` does not collect this folder). Playwright for Python
launches ``/usr/bin/chromium`` (override with ``$CHROMIUM``); ``playwright install`` is never
needed and must not be run. Without a Chromium the session fails with the install command.

Each server gets its own temporary Jupyter config, data, runtime, settings and workspace
directories, so nothing of the user's set-up leaks in and nothing is written to $HOME. On a
failing test a screenshot of the page is saved and its path added to the report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# --no-sandbox: Chromium refuses to sandbox itself as root (containers, CI);
# --disable-dev-shm-usage: Docker's default 64 MB /dev/shm would crash renderers.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
TOKEN = "which-cross-entropy-e2e"
SERVER_START_TIMEOUT = 120   # s; a cold first start after install took 9.5 s on 2 cores
UI_TIMEOUT_MS = 120_000      # kernel start + TF import + running a lesson, on a busy machine
BIN = Path(sys.executable).parent


def wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"server did not answer {url} in {SERVER_START_TIMEOUT} s:\n"
                f"{log.read_text()[-3000:]}")


def isolated_env(home: Path) -> dict[str, str]:
    """Environment with every Jupyter/matplotlib/cache directory inside ``home``."""
    dirs = {name: home / name for name in ("config", "data", "runtime", "mpl", "cache", "tmp")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(dirs["config"]),
            "JUPYTER_DATA_DIR": str(dirs["data"]), "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
            "MPLCONFIGDIR": str(dirs["mpl"]), "XDG_CACHE_HOME": str(dirs["cache"]),
            "TMPDIR": str(dirs["tmp"]), "JUPYTER_PLATFORM_DIRS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a server in its own process group (so teardown stops its kernels too)."""
    with log.open("w") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=env["TMPDIR"])


# ---------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Headless Debian Chromium through Playwright; fails (not skips) without a Chromium."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}. Install Debian's: "
                    "`apt-get update && apt-get install -y chromium` (as root), or point "
                    "$CHROMIUM at one. Never run `playwright install`: it downloads a browser "
                    "of its own, which fails here.", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=UI_TIMEOUT_MS)   # its default, 5 s, is far too short here
    with sync_playwright() as p:
        cache = tmp_path_factory.mktemp("chromium-cache")   # it writes dconf there, not $HOME
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True,
                                     env={**os.environ, "XDG_CACHE_HOME": str(cache)})
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def screenshot_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "which-cross-entropy-e2e-screenshots"
    path = Path(os.environ.get("E2E_SCREENSHOTS", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_if_failed(request, page) -> None:
    """Screenshot ``page`` when the test failed; the path goes into the test's report."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        path = screenshot_dir() / f"{request.node.name.replace('/', '_')}.png"
        page.screenshot(path=str(path), full_page=True)
        report.sections.append(("screenshot", str(path)))
        print(f"\nscreenshot of the failing page: {path}")


@pytest.fixture
def page(browser, request):
    """A fresh browser page (own context: no shared storage), screenshot on failure."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    yield page
    save_if_failed(request, page)
    context.close()


# ---------------------------------------------------------------- JupyterLab
LAB_SETTINGS = {
    # contentVisibility windowing may skip rendering off-screen cells of a long lesson;
    # auto-start the kernel so no "Select Kernel" dialog can appear.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "none", "autoStartDefaultKernel": True},
    # the news toast would cover widgets at the bottom right
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
}


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """``(base URL, root directory)`` of a JupyterLab serving a copy of the course (lessons
    read files by relative paths, e.g. ``../benchmarks/results/``)."""
    from servers import copy_course

    home = tmp_path_factory.mktemp("lab")
    root, settings, workspaces = home / "root", home / "settings", home / "workspaces"
    copy_course(root)
    for path in (settings, workspaces):
        path.mkdir()
    for name, value in LAB_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))
    port = free_port()
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
           "--LabApp.news_url=None", "--allow-root"]
    log = home / "lab.log"
    process = start(cmd, isolated_env(home), log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/api/status?token={TOKEN}", process, log)
        yield url, root
    finally:
        stop(process)


@pytest.fixture
def lab_notebook(lab_server, request) -> Iterator[str]:
    """Copy a lesson (``request.param``) next to itself under a unique name, outputs cleared.

    A fresh name means a fresh kernel session (reusing a path reattaches the old kernel), and
    the committed lesson is never touched by JupyterLab's autosave.
    """
    import nbformat

    url, root = lab_server
    source = ROOT / request.param
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    name = f"{source.stem}-{request.node.name.split('[')[0]}-{time.monotonic_ns()}.ipynb"
    path = source.parent.relative_to(ROOT) / name
    nbformat.write(nb, root / path)
    yield f"{url}/lab/tree/{path.as_posix()}?token={TOKEN}&reset"


# ---------------------------------------------------------------- Voilà
@pytest.fixture(scope="session")
def voila_server(tmp_path_factory) -> Iterator[str]:
    """Base URL of a Voilà serving copies of ``apps/`` (each page load runs a fresh kernel)."""
    home = tmp_path_factory.mktemp("voila")
    root = home / "apps"
    shutil.copytree(ROOT / "apps", root)
    port = free_port()
    cmd = [str(BIN / "voila"), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
           "--Voila.port_retries=0", str(root)]
    log = home / "voila.log"
    process = start(cmd, isolated_env(home), log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/voila/static/voila.js", process, log)
        yield url
    finally:
        stop(process)
