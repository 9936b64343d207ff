"""Imports point down (issue 9): no two packages of gatehouse/ import each other, and kit/ imports
no domain. Read from the source, so a new cycle fails here, not in review."""

from __future__ import annotations

import ast
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


def test_kit_imports_no_domain():
    assert package_imports()["kit"] <= {"config"}


def test_status_rules_live_in_lifecycle():
    """The "is it open?" guard is asked of lifecycle, nowhere spelled out again."""
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                 if p.name != "lifecycle.py" and "not in lifecycle.OPEN" in p.read_text()]
    assert offenders == []
