"""The layers only import downwards: flows -> extractors -> transforms -> warehouse."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

ORDER = ["flows", "extractors", "transforms", "warehouse"]


def imported_packages(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found & set(ORDER)


@pytest.mark.parametrize("package", ORDER)
def test_a_layer_never_imports_a_higher_one(package):
    higher = set(ORDER[: ORDER.index(package)])
    assert imported_packages(package) & higher == set()
