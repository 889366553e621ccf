"""The production image installs requirements.lock only (no dev extras): every library the product
imports must be in it, or the container fails at start-up (it did, for httpx)."""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("backend", "channels", "agent", "policy")


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - set(PRODUCT_PACKAGES)


def _locked_distributions() -> set[str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return {
        line.split("==")[0].strip().lower()
        for line in lines
        if "==" in line and not line.startswith((" ", "#"))
    }


def _normalised(name: str) -> str:
    return name.lower().replace("_", "-")


def test_every_library_the_product_imports_is_in_the_runtime_lock() -> None:
    locked = _locked_distributions()
    providers = importlib.metadata.packages_distributions()
    missing = sorted(
        module
        for module in _imported_top_level_modules()
        if not any(_normalised(dist) in locked for dist in providers.get(module, []))
    )
    assert missing == [], f"imported by the product but not in requirements.lock: {missing}"
