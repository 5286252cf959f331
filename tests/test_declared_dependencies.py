"""Every third-party module that the tests and benchmarks import is declared in
pyproject.toml (the runtime dependencies or the ``dev`` extra), not merely present because
another package pulled it in (jsonschema came only through fmpy)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Scripts run with their own interpreter, never by cosim or its tests, and the modules only they
# may import: benchmarks/pybamm_reference.py makes the PyBaMM reference curves in a separate venv
# (PyBaMM must not become a dependency of cosim).
SEPARATE_ENVIRONMENT = {"benchmarks/pybamm_reference.py": {"pybamm"}}


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Top-level module name -> the files importing it (any import statement, also inside
    functions, and ``pytest.importorskip("x")``)."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "importorskip" and node.args and isinstance(node.args[0], ast.Constant)):
                names = [node.args[0].value]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(REPO).as_posix())
    return found


def declared() -> set[str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["dev"])
    return {re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower().replace("_", "-") for r in reqs}


def test_every_third_party_import_of_the_tests_and_benchmarks_is_declared():
    local = {p.stem for folder in ("tests", "benchmarks") for p in (REPO / folder).rglob("*.py")} | {"cosim"}
    to_dist = metadata.packages_distributions()
    needed: dict[str, set[str]] = {}
    for folder in ("tests", "benchmarks"):
        for module, files in imported_modules(REPO / folder).items():
            if module in sys.stdlib_module_names or module in local or module == "__future__":
                continue
            if all(module in SEPARATE_ENVIRONMENT.get(f, set()) for f in files):
                continue
            dists = to_dist.get(module)
            assert dists, f"{module} (imported by {sorted(files)}) is not installed"
            for dist in dists:
                needed.setdefault(dist.lower().replace("_", "-"), set()).update(files)
    missing = {d: sorted(f) for d, f in needed.items() if d not in declared()}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
    assert {"numpy", "pytest", "xarray", "fmpy", "jsonschema"} <= set(needed)  # the scan sees them
