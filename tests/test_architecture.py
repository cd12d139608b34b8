"""The shape of the code, as docs/architecture.md states it: no import cycle among the modules
of lms, no module of lms past ~600 lines without saying at its top why it is long, and the
architecture page names every package and module of lms. (The layers themselves are checked
by the import-linter contracts of pyproject.toml, which `make test` runs.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
LMS = ROOT / "lms"
MAX_LINES = 600
# The words a long module's docstring uses to say why it is long.
LONG_BECAUSE = re.compile(r"\bwhy (this module|it) is long\b", re.I)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_among_lms_modules():
    # Imports inside functions count too: a cycle hidden in a function is still a cycle.
    graph = grimp.build_graph("lms", include_external_packages=False)
    modules = {m for m in graph.modules if ".migrations" not in m}
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & modules for m in modules}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _modules() -> list[Path]:
    return sorted(p for p in LMS.rglob("*.py") if "migrations" not in p.parts)


def test_no_module_of_lms_is_long_without_saying_why():
    long = []
    for path in _modules():
        lines = path.read_text(encoding="utf-8").count("\n")
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if lines > MAX_LINES and not LONG_BECAUSE.search(docstring):
            long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert long == []


def test_every_module_has_a_docstring_that_says_what_it_is_for():
    missing = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if not (ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or "").strip()
    ]
    assert missing == []


# The packages whose every module the table lists (models/ and services/ are described as a
# whole: a module per area or use-case).
LISTED_IN_FULL = ("app", "documents", "jobs", "setup", "web")


def test_the_architecture_page_names_every_package_and_module_of_lms():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = page[page.index("| package | role | may import |") :]
    table = table[: table.index("\n\n")]
    named = set(re.findall(r"`([\w./]+)`", table))
    missing = []
    for child in sorted(LMS.iterdir()):
        if child.name in ("__pycache__",) or child.name.startswith("."):
            continue
        if child.is_dir():
            if f"{child.name}/" not in named:
                missing.append(f"{child.name}/")
            if child.name in LISTED_IN_FULL:
                for module in sorted(child.iterdir()):
                    stem = module.stem if module.suffix == ".py" else module.name
                    if module.name.startswith("__") or not (
                        module.suffix == ".py" or (module / "__init__.py").exists()
                    ):
                        continue
                    if stem not in named and f"{stem}/" not in named:
                        missing.append(f"{child.name}/{module.name}")
        elif child.suffix == ".py" and child.name not in named:
            missing.append(child.name)
    assert missing == [], "add them to the table of docs/architecture.md"
