"""Enforces the import directions of STYLE.md section 2 by parsing every module."""

import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

# package (path prefix) -> top-level modules it must never import
FORBIDDEN = {
    "data_pipeline": ("jaxrec", "serve", "flax", "optax", "orbax"),
    "jaxrec/models": (
        "optax",
        "orbax",
        "grain",
        "ray",
        "data_pipeline",
        "jaxrec.training",
        "jaxrec.evaluation",
        "jaxrec.checkpoint",
    ),
    "jaxrec/metrics.py": ("jaxrec.training", "data_pipeline", "flax", "optax"),
    "jaxrec/losses.py": ("jaxrec.training", "data_pipeline", "optax"),
    "serve": ("jaxrec.training",),
}


def _imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(prefix: str) -> list[pathlib.Path]:
    target = REPO / prefix
    return [target] if target.is_file() else sorted(target.rglob("*.py"))


@pytest.mark.parametrize("prefix", sorted(FORBIDDEN))
def test_forbidden_imports(prefix):
    files = _files(prefix)
    assert files, prefix
    for path in files:
        for name in _imports(path):
            for banned in FORBIDDEN[prefix]:
                assert not (name == banned or name.startswith(banned + ".")), (
                    f"{path.relative_to(REPO)} imports {name}"
                )
