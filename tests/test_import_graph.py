"""Imports run one way: no package of ours has an import circle, TYPE_CHECKING imports included.

The graph of each package's modules is read from the source with ``ast`` (nothing is imported):
an edge for every import of one of its own modules, at module level, under
``if TYPE_CHECKING:`` or deferred into a function. A helper that needs its store takes it as an
argument typed by a small Protocol; it never imports the store's module back.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "cloudlease": ROOT / "cloudlease",
    **{
        path.name: path
        for path in sorted((ROOT / "providers").glob("*/cloudlease_*"))
        if (path / "__init__.py").exists()
    },
    "benchmarks": ROOT / "benchmarks",
}


def module_name(package: str, root: Path, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement of a module: at module level, under ``if TYPE_CHECKING:``, and
    deferred into functions (a deferred import still says which way the dependency runs)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def imported(
    node: ast.Import | ast.ImportFrom, current: str, is_package: bool, modules: Collection[str]
) -> set[str]:
    """The modules of ours one import statement loads for its names.

    ``from a import b`` names the module ``a.b`` when there is one, else ``a`` (a name defined
    in ``a``); a package's ``__init__`` that re-exports its modules is not a circle by itself.
    """
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = current.split(".")
            anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join([*anchor, base] if base else anchor)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names
        ]
    return {name for name in names if name in modules and name != current}


def import_graph(package: str, root: Path) -> dict[str, set[str]]:
    files = {module_name(package, root, path): path for path in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = {
            target
            for node in imports_in(tree)
            for target in imported(node, name, path.name == "__init__.py", files)
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (as a path that ends where it starts), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(graph[start]))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                stack.pop()
            elif following in on_path:
                return [*path[path.index(following) :], following]
            elif following not in done:
                path.append(following)
                on_path.add(following)
                stack.append(iter(sorted(graph[following])))
    return None


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_run_one_way(package: str) -> None:
    graph = import_graph(package, PACKAGES[package])
    cycle = find_cycle(graph)
    assert cycle is None, (
        f"import circle in {package}: {' -> '.join(cycle or [])}; let the later module take what "
        "it needs as an argument or a small Protocol instead of importing the earlier one back"
    )


def test_type_checking_and_deferred_imports_count_and_a_circle_is_named() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import c\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.a import A\n"
        "def later():\n"
        "    from pkg import d\n"
    )
    modules = {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"}
    found = set().union(
        *(imported(n, "pkg.b", False, modules) for n in imports_in(ast.parse(source)))
    )
    assert found == {"pkg.a", "pkg.c", "pkg.d"}  # typing is not ours
    assert find_cycle({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}) == ["pkg.a", "pkg.b", "pkg.a"]
    assert find_cycle({"pkg.a": {"pkg.b", "pkg.c"}, "pkg.b": {"pkg.c"}, "pkg.c": set()}) is None
