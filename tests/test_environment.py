"""environment.yml (conda) and pyproject.toml (pip) must install the same pinned packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        req for extra in ("dev", "site") for req in project["optional-dependencies"][extra]]
    pins = {}
    for req in requirements:
        name, sep, version = req.partition("==")
        assert sep, f"pyproject.toml: {req!r} is not pinned with =="
        pins[_normalise(name)] = version
    return pins


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):                  # the pip: section, PyPI syntax
            for req in dep["pip"]:
                if req.startswith("-e"):
                    continue
                name, sep, version = req.partition("==")
                assert sep, f"environment.yml pip: {req!r} is not pinned with =="
                pins[_normalise(name)] = version
        elif dep not in ("pip",):
            name, sep, version = dep.partition("=")
            assert sep, f"environment.yml: {dep!r} is not pinned"
            pins[_normalise(name)] = version
    pins.pop("python")
    return pins


def test_same_packages_with_the_same_pins():
    assert environment_pins() == pyproject_pins()


def test_python_versions_agree():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str)
                        and d.startswith("python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11" and conda_python == "python=3.11"


def test_installed_versions_are_the_pinned_ones():
    """The environment running the tests is the one the notebooks' outputs were made with."""
    from importlib.metadata import version

    for name, pinned in pyproject_pins().items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"
