"""Imports point down (issue 9): no two packages of gatehouse/ import each other, and kit/ imports
no domain. Read from the source, so a new cycle fails here, not in review."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "gatehouse"


def package_imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        package = path.relative_to(ROOT).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gatehouse."):
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("gatehouse.")]
            for name in names:
                target = name.split(".")[1]
                if target != package:
                    edges[package].add(target)
    return edges


def test_no_two_packages_import_each_other():
    edges = package_imports()
    cycles = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())})
    assert cycles == []


def test_no_module_import_circle():
    """No circle of modules importing each other at load time, of any length (issue 21: the tree had
    five two-file circles). Imports inside functions are deferred on purpose and not counted."""
    modules = {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
               for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.parse(path.read_text()).body:  # module level only
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            else:
                continue
            graph[module] |= {n for n in named if n in modules and n != module}
    # depth-first search for a back edge: a circle
    state: dict[str, int] = {}  # 1 on the path, 2 done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph[module]):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_kit_imports_no_domain():
    assert package_imports()["kit"] <= {"config"}


STATUS_WORDS = re.compile(r"""["'](Pending Approval|Approved|In Progress|Completed|Approval Denied|Cancelled)["']""")


def status_literals(root: Path) -> list[str]:
    """Every status spelled out as a string outside lifecycle.py: code and templates alike."""
    found = []
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.html")]):
        if path.name == "lifecycle.py" or "migrations" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if STATUS_WORDS.search(line):
                found.append(f"{path.relative_to(root)}:{n}")
    return found


def test_status_rules_live_in_lifecycle():
    """Status sets and predicates (is_open, can_decide, roster groups) come from lifecycle.py."""
    assert status_literals(ROOT) == []


def test_a_status_spelled_by_hand_is_caught(tmp_path):
    page = tmp_path / "console" / "pages" / "planted.py"
    page.parent.mkdir(parents=True)
    page.write_text('is_open = t["ticketStatus"] in ("Pending Approval", "Approved")\n')
    (tmp_path / "planted.html").write_text('{% if r.ticketStatus == "Completed" %}x{% endif %}\n')
    assert status_literals(tmp_path) == ["console/pages/planted.py:1", "planted.html:1"]


def module_imports() -> dict[str, set[str]]:
    """gatehouse.x.y -> the gatehouse modules it imports, at the top or inside a function."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        name = ".".join(("gatehouse", *path.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gatehouse"):
                edges[name].add(node.module)
                edges[name].update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                edges[name].update(a.name for a in node.names if a.name.startswith("gatehouse"))
    modules = set(edges)
    return {m: {t for t in targets if t in modules and t != m} for m, targets in edges.items()}


def test_no_two_modules_import_each_other():
    edges = module_imports()
    pairs = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())})
    assert pairs == []


def test_no_module_is_over_450_lines():
    long = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 450 and "migrations" not in p.parts}
    assert long == {}
