"""The codebase's own rules that its tools do not check.

ruff, ruff format, mypy and the import-linter contracts (layers, the core free
of platform code, nothing importing ``bot.main``) run as steps of
``scripts/check``. What is left is here: every module says what it is for, no
source file outgrows 600 lines, no import cycle, TYPE_CHECKING imports
included (import-linter checks layers, not cycles), and requirements.lock
pins what pyproject.toml asks for.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

import grimp
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "adapters", "storage")
MAX_LINES = 600


def sources() -> list[Path]:
    return sorted(path for folder in PACKAGES for path in (ROOT / folder).rglob("*.py"))


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in sources()
        if "versions" not in path.parts and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []


def test_no_source_file_is_over_600_lines() -> None:
    lines = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in sources()}
    assert {name: count for name, count in lines.items() if count > MAX_LINES} == {}


def import_cycles(
    modules: Iterable[str], imported_by: Callable[[str], Iterable[str]]
) -> list[list[str]]:
    """The import cycles among ``modules``: each strongly connected component of
    more than one module (or a module importing itself), sorted (Tarjan's algorithm)."""
    order: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in sorted(modules):
        if start in order:
            continue
        # Iterative depth-first search: (module, the imports still to visit).
        work = [(start, iter(sorted(imported_by(start))))]
        order[start] = lowest[start] = len(order)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, pending = work[-1]
            child = next(pending, None)
            if child is not None:
                if child not in order:
                    order[child] = lowest[child] = len(order)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imported_by(child)))))
                elif child in on_stack:
                    lowest[module] = min(lowest[module], order[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowest[parent] = min(lowest[parent], lowest[module])
            if lowest[module] == order[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1 or module in imported_by(module):
                    cycles.append(sorted(component))
    return sorted(cycles)


def test_the_cycle_finder_finds_cycles_and_only_cycles() -> None:
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": set(), "f": {"f"}}
    assert import_cycles(imports, imports.__getitem__) == [["a", "b", "c"], ["f"]]
    assert import_cycles(["d", "e"], imports.__getitem__) == []


def test_no_import_cycle_in_bot_adapters_or_storage() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    assert import_cycles(graph.modules, graph.find_modules_directly_imported_by) == []


def test_the_lock_pins_every_dependency_within_what_pyproject_asks() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    )
    pinned = {canonicalize_name(name): version.strip() for name, version in pins.items()}
    unmet = {}
    for requirement in map(Requirement, lines):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            unmet[str(requirement)] = version
    assert unmet == {}, "refresh the lock: scripts/lock (README, Development)"
