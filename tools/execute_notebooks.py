"""Re-execute notebooks in place (`make notebooks`), the one way stored outputs are made.

Uses nbclient with widget state NOT stored (nbclient stores it by default, and saved widget
state is noise in diffs that no reader without a kernel can use). Prints each notebook's
execution time, the figure the README's syllabus reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
KERNEL = "python3"


def lab_kernelspec(name: str = KERNEL) -> dict[str, str]:
    """The kernelspec metadata JupyterLab writes when it saves a notebook running kernel ``name``:
    the installed kernel.json's display name and language. Storing exactly this means opening
    and saving a notebook in Lab leaves no diff."""
    spec = KernelSpecManager().get_kernel_spec(name)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


def drop_widget_views(nb) -> None:
    """Keep a widget cell's text/plain only: with no widget state saved, the view is a dangling
    random model id ("model not found" when opened) that changes on every run."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)


def execute(path: Path, timeout: int) -> float:
    """Run every cell of ``path`` top to bottom in a fresh kernel and save it; return seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=False,
                            # one print() is stored as one output, not split at random
                            coalesce_streams=True,
                            # no per-cell timestamps: they would change every re-run's JSON
                            record_timing=False)
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = lab_kernelspec()
    drop_widget_views(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    notebooks = sorted(p for path in args.paths
                       for p in ([path] if path.suffix == ".ipynb" else path.glob("*.ipynb")))
    if not notebooks:
        print("no notebooks found in", *args.paths, file=sys.stderr)
        return 2
    total = 0.0
    for path in notebooks:
        seconds = execute(path, args.timeout)
        total += seconds
        print(f"{seconds:6.1f} s  {path}")
    print(f"{total:6.1f} s  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
