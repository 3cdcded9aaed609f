"""The walls between the packages hold: every import statement, read from the source.

Why a static check: a forbidden import hidden inside a function (the project imports heavy
libraries lazily) would escape a runtime `sys.modules` check, and the layers are the project's
architecture (README, "Architecture").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"auditors", "comparison", "storage", "reports", "flows"}
# shared by the tests and the benchmarks, not shipped: the shipped packages must work without it
NOT_SHIPPED = {"testkit"}

# package -> top-level modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    "auditors": {"storage", "reports", "flows", "prefect", "mlflow", "sqlalchemy", "alembic",
                 "great_expectations"} | NOT_SHIPPED,
    "comparison": PROJECT - {"comparison"} | {"torch", "transformers", "sqlalchemy", "prefect",
                                              "mlflow"} | NOT_SHIPPED,
    "storage": {"auditors", "reports", "flows", "comparison", "torch", "transformers", "prefect",
                "mlflow"} | NOT_SHIPPED,
    "reports": {"auditors", "flows", "torch", "transformers", "prefect", "mlflow"} | NOT_SHIPPED,
    "flows": NOT_SHIPPED,
    # a benchmark builds its input with the product or with testkit, never with the tests' factories
    "benchmarks": {"tests"},
    "testkit": {"tests", "benchmarks"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_beyond_its_wall(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "layer walls broken:\n" + "\n".join(offenders)


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from storage.records import X\n    import torch.nn as nn\n")
    assert _imports(source) == {"storage", "torch"}


def test_the_wheel_ships_the_production_packages_only() -> None:
    """pyproject.toml's package discovery picks the five packages, never testkit, tests or benchmarks.

    Why: testkit starts servers and builds test scenarios; it lives at the top level so the tests and
    the benchmarks can share it, and an include pattern like "*" would ship it with the product."""
    import fnmatch
    import tomllib

    find = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]
    shipped = {name for name in PROJECT | NOT_SHIPPED | {"tests", "benchmarks"}
               if any(fnmatch.fnmatchcase(name, pattern) for pattern in find["include"])}
    assert shipped == PROJECT
