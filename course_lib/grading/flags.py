"""Signals, not boundaries: an AST scan of answer cells for what an exercise forbids.

Flags change no score by themselves (the sandbox is the boundary); they go to grades.csv and
the feedback, and ``course grade --penalty CODE=POINTS`` can make them cost points. Codes:

* ``forbidden-import:MODULE`` -- a module the exercise forbids (TensorFlow, SciPy's special
  functions or course_lib in a NumPy-only exercise);
* ``import:MODULE`` -- ``os``, ``subprocess``, ``ctypes``, ``signal``, ``socket``, ``IPython``;
* ``monkeypatch:NAME`` -- an assignment to (or ``setattr``/``del`` of) another module's
  attribute, e.g. ``np.allclose = ...``;
* ``dynamic-import`` -- ``__import__`` or ``importlib``, which a name-based scan cannot see
  through;
* ``ipython`` -- ``get_ipython()``, e.g. registering input transformers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

RISKY = ("os", "subprocess", "ctypes", "signal", "socket", "IPython")
FLAG_HELP = {
    "forbidden-import": "imports a module this exercise forbids",
    "import": "imports a module that can reach the system (processes, files, signals, network)",
    "monkeypatch": "changes an attribute of another module (monkeypatching)",
    "dynamic-import": "imports modules dynamically (__import__ / importlib)",
    "ipython": "uses get_ipython() (the notebook machinery)",
}


def _imported(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """``(dotted module, bound name)`` pairs of an import statement."""
    if isinstance(node, ast.Import):
        return [(a.name, a.asname or a.name.split(".")[0]) for a in node.names]
    base = node.module or ""
    return [(f"{base}.{a.name}" if base else a.name, a.asname or a.name) for a in node.names]


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node


def _dotted(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except Exception:
        return "?"


def _matches(module: str, prefixes: Iterable[str]) -> str | None:
    for prefix in prefixes:
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return None


def scan(cells: list[str], forbidden: Iterable[str], modules: Iterable[str]) -> list[str]:
    """Sorted, unique flag codes for the answer cells ``cells``.

    ``modules``: names that already hold modules in the answer cells' namespace (``np``).
    """
    forbidden = tuple(forbidden)
    trees = []
    for text in cells:
        try:
            trees.append(ast.parse(text))
        except SyntaxError:
            continue
    module_names = {*modules, "__builtins__", "builtins", "sys"}
    flags: set[str] = set()
    for tree in trees:  # bound module names first: a later cell may patch an earlier import
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for module, bound in _imported(node):
                    module_names.add(bound)
                    hit = _matches(module, forbidden)
                    if hit:
                        flags.add(f"forbidden-import:{hit}")
                    if module.split(".")[0] in RISKY:
                        flags.add(f"import:{module.split('.')[0]}")
    for tree in trees:
        for node in ast.walk(tree):
            flags.update(_node_flags(node, module_names))
    return sorted(flags)


def _node_flags(node: ast.AST, module_names: set[str]) -> set[str]:
    out: set[str] = set()
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    for target in targets:
        if isinstance(target, ast.Attribute | ast.Subscript):
            root = _root(target)
            if isinstance(root, ast.Name) and root.id in module_names:
                out.add(f"monkeypatch:{_dotted(target)}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in ("setattr", "delattr") and node.args:
            root = _root(node.args[0])
            if isinstance(root, ast.Name) and root.id in module_names:
                attr = node.args[1] if len(node.args) > 1 else None
                suffix = f".{attr.value}" if isinstance(attr, ast.Constant) else ""
                out.add(f"monkeypatch:{_dotted(node.args[0])}{suffix}")
        if name == "__import__":
            out.add("dynamic-import")
        if name == "get_ipython":
            out.add("ipython")
    if isinstance(node, ast.Name) and node.id == "importlib":
        out.add("dynamic-import")
    return out


def explain(code: str) -> str:
    """A sentence for the feedback: what the flag ``code`` means."""
    kind, _, what = code.partition(":")
    text = FLAG_HELP.get(kind, kind)
    return f"`{code}`: {text}" + (f" ({what})" if what else "")
