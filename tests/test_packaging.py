"""Every Python package of the source tree is installed: pyproject's explicit package list (needed
for the ``specs/models`` mapping) must not miss a folder, or a non-editable
install would lack it."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _packages_on_disk() -> set[str]:
    found = set()
    for name, folder in _config()["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            relative = init.parent.relative_to(base).parts
            found.add(".".join((name, *relative)))
    return found


def test_every_package_folder_is_listed():
    listed = set(_config()["packages"])
    assert _packages_on_disk() - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_every_listed_package_exists():
    assert set(_config()["packages"]) - _packages_on_disk() == set()


def test_no_module_outside_a_package():
    """A .py file in a folder without __init__.py would be left out of the wheel silently."""
    loose = []
    for name, folder in _config()["package-dir"].items():
        for module in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in module.parts and not (module.parent / "__init__.py").exists():
                loose.append(str(module.relative_to(ROOT)))
    assert loose == []
