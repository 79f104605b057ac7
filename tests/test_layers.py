"""The layers only import downwards: flows -> extractors -> transforms -> warehouse -> template."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

ORDER = ["flows", "extractors", "transforms", "warehouse", "template"]


def _imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def imported_packages(package: str) -> set[str]:
    return set().union(*(_imports(path) for path in (ROOT / package).rglob("*.py"))) & set(ORDER)


@pytest.mark.parametrize("package", ORDER)
def test_a_layer_never_imports_a_higher_one(package):
    higher = set(ORDER[: ORDER.index(package)])
    assert imported_packages(package) & higher == set()


def test_the_synthetic_corpus_stays_outside_the_pipeline():
    """Only the CLI uses corpus/; corpus/ itself never reaches up into the flows."""
    importers = {
        str(path.relative_to(ROOT))
        for package in ORDER
        for path in (ROOT / package).rglob("*.py")
        if "corpus" in _imports(path)
    }
    assert importers <= {"flows/cli.py"}
    assert "flows" not in imported_packages("corpus")
