"""`make lab` serves the course folder and opens the landing page; every relative link in every
notebook opens its target there; nbgrader's Lab extension is off for learners and on in
`make lab-instructor`; Lab's news pop-up is off in both."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from servers import ROOT, TOKEN, get, get_json, page_config, running

LANDING = "START_HERE.ipynb"
NBGRADER_LAB = "@jupyter/nbgrader"
NEWS = "@jupyterlab/apputils-extension:notification"
# every notebook a learner or an instructor opens in Lab
NOTEBOOKS = sorted([ROOT / LANDING, *(ROOT / "notebooks").glob("*.ipynb"),
                    *(ROOT / "exercises").glob("*.ipynb"), *(ROOT / "solutions").glob("*.ipynb"),
                    *(ROOT / "apps").glob("*.ipynb")])
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|href=\"([^\"]+)\"")


def relative_links(path: Path) -> list[str]:
    """Relative targets of the markdown links and HTML hrefs in a notebook's markdown cells."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    links = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for md, href in LINK.findall("".join(cell["source"])):
                target = (md or href).split("#")[0]
                if target and not re.match(r"[a-z][a-z0-9+.-]*:", target):
                    links.append(target)
    return links


def served_path(notebook: Path, link: str) -> str:
    """The path (relative to the served root) that Lab opens for ``link`` in ``notebook``."""
    return (notebook.parent / urllib.parse.unquote(link)).resolve().relative_to(ROOT).as_posix()


def test_notebooks_link_each_other():
    assert len(NOTEBOOKS) > 10 and any(relative_links(p) for p in NOTEBOOKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_inside_the_served_root(notebook):
    for link in relative_links(notebook):
        target = (notebook.parent / urllib.parse.unquote(link)).resolve()
        assert target.is_relative_to(ROOT), (
            f"{notebook.name}: {link} leaves the course folder that `make lab` serves")
        assert target.exists(), f"{notebook.name}: {link} leads to no file"


def test_make_lab_serves_the_course_opens_the_landing_page_and_hides_nbgrader(tmp_path):
    with running("make -s lab", cwd=ROOT, home=tmp_path, kind="lab") as base:
        status, headers, _ = get(f"{base}/?token={TOKEN}", follow=False)
        assert status == 302 and urllib.parse.urlsplit(headers["Location"]).path \
            == f"/lab/tree/{LANDING}", (status, headers.get("Location"))
        names = {item["name"] for item in get_json(f"{base}/api/contents?token={TOKEN}")["content"]}
        assert {LANDING, "notebooks", "exercises", "apps", "docs"} <= names, names
        # Lab opens a link by asking the contents API for the resolved path
        for notebook in NOTEBOOKS:
            for link in relative_links(notebook):
                path = served_path(notebook, link)
                status, _, _ = get(f"{base}/api/contents/{urllib.parse.quote(path)}"
                                   f"?content=0&token={TOKEN}")
                assert status == 200, f"{notebook.name}: {link} -> {path}: HTTP {status}"
        config = page_config(base, f"/lab/tree/{LANDING}")
        assert NBGRADER_LAB in config["disabledExtensions"], config["disabledExtensions"]
        assert not news_is_fetched(base)


def test_make_lab_instructor_shows_nbgrader(tmp_path):
    with running("make -s lab-instructor", cwd=ROOT, home=tmp_path, kind="lab") as base:
        config = page_config(base)
        assert NBGRADER_LAB in {ext["name"] for ext in config["federated_extensions"]}
        assert NBGRADER_LAB not in config.get("disabledExtensions", {})
        assert not news_is_fetched(base)


def news_is_fetched(base: str) -> bool:
    """Whether Lab would ask about (and fetch) Jupyter news: the notification settings."""
    settings = get_json(f"{base}/lab/api/settings/{NEWS}?token={TOKEN}")
    schema = settings["schema"]["properties"]
    fetch = settings["settings"].get("fetchNews", schema["fetchNews"]["default"])
    updates = settings["settings"].get("checkForUpdates", schema["checkForUpdates"]["default"])
    return fetch != "false" or updates is not False


@pytest.fixture(scope="module")
def running_kernel_metadata() -> tuple[dict, dict]:
    """``(kernelspec, language_info)`` as JupyterLab writes them for the installed python3
    kernel: the kernelspec from its kernel.json, language_info from the kernel's own reply."""
    import sys

    from jupyter_client.manager import start_new_kernel

    sys.path.insert(0, str(ROOT / "tools"))
    from execute_notebooks import lab_kernelspec

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        reply = client.kernel_info(reply=True, timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    spec = manager.kernel_spec
    kernelspec = {"display_name": spec.display_name, "language": spec.language,
                  "name": "python3"}
    assert lab_kernelspec() == kernelspec     # what tools/execute_notebooks.py stores
    return kernelspec, reply["content"]["language_info"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_stored_kernel_metadata_is_what_lab_writes_so_saving_leaves_no_diff(
        notebook, running_kernel_metadata):
    kernelspec, language_info = running_kernel_metadata
    metadata = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]
    fix = ("re-execute it with tools/execute_notebooks.py" if notebook.parent.name in
           ("notebooks", "solutions") else "run `course release`"
           if notebook.parent.name == "exercises" else "store what Lab writes")
    assert metadata.get("kernelspec") == kernelspec, f"{notebook.name}: {fix}"
    assert metadata.get("language_info") == language_info, f"{notebook.name}: {fix}"
