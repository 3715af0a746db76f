"""Imports run one way: spec -> registry -> compiler -> layers/models (and the other libraries)
-> api -> cli, and the package has no import cycle. Read from the source with ``ast``: nothing
is imported to check it."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import networkx as nx
import pytest

from conftest import ROOT

PACKAGE = ROOT / "graphspec"
COMPILER = ROOT / "compiler"  # installed as graphspec.compiler

#: layer of each part of the package (lower layers never import higher ones); parts not named are
#: libraries (layers, models, data, transforms, ...) between the compiler and the API
LAYERS = {"graphspec.spec": 0, "graphspec.registry": 1, "graphspec.compiler": 2, "graphspec.api": 4,
          "graphspec.cli": 5, "graphspec.__main__": 5}
LIBRARY = 3
#: IR passes rewrite model ops (e.g. squeeze-excitation): they sit with the libraries, above the
#: core. The per-kind front ends the API dispatches to (data and transform specs, export) compile
#: the specs they name through the API: they are part of its layer.
OVER_THE_CORE = {"graphspec.compiler.passes": LIBRARY, "graphspec.data.spec": 4, "graphspec.transforms.spec": 4,
                 "graphspec.export": 4}
#: import-time cycles known and not yet untangled, each with its owner's reason; the test fails
#: once one is gone, so the entry is removed with it
KNOWN_CYCLES: set[frozenset] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for root, prefix in ((PACKAGE, "graphspec"), (COMPILER, "graphspec.compiler")):
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([prefix, *parts])] = path
    return found


MODULES = _modules()


def layer(module: str) -> int:
    for table in (OVER_THE_CORE, LAYERS):
        for prefix, level in sorted(table.items(), key=lambda kv: -len(kv[0])):
            if module == prefix or module.startswith(prefix + "."):
                return level
    return LIBRARY


@functools.lru_cache(maxsize=None)
def imports(module: str, top_level_only: bool) -> frozenset[str]:
    """graphspec modules ``module`` imports (function-level imports too unless ``top_level_only``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    body = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from graphspec import registry` imports the module graphspec.registry
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        out |= {_known(name) for name in names if name.startswith("graphspec") and _known(name)}
    out.discard(module)
    return frozenset(out)


def _known(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module):
    """Function-level imports count too: deferring an upward import does not make it one-way."""
    upward = sorted(dep for dep in imports(module, top_level_only=False)
                    if layer(dep) > layer(module) and dep != "graphspec")
    assert upward == [], f"{module} (layer {layer(module)}) imports {upward}"


def test_the_core_never_imports_models_api_or_cli():
    core = [m for m in MODULES if layer(m) <= LAYERS["graphspec.compiler"]]
    assert {"graphspec.registry", "graphspec.compiler.pipeline", "graphspec.spec.errors"} <= set(core)
    for module in core:
        deps = imports(module, top_level_only=False)
        assert not {d for d in deps if layer(d) > LAYERS["graphspec.compiler"]}, module


def test_no_import_cycle_at_import_time():
    graph = nx.DiGraph()
    for module in MODULES:
        graph.add_node(module)
        for dep in imports(module, top_level_only=True):
            if dep != "graphspec":  # every submodule's parent package is imported first anyway
                graph.add_edge(module, dep)
    cycles = [c for c in nx.simple_cycles(graph)]
    new = [c for c in cycles if frozenset(c) not in KNOWN_CYCLES]
    assert new == [], "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in new[:5])
    gone = KNOWN_CYCLES - {frozenset(c) for c in cycles}
    assert not gone, f"untangled, remove from KNOWN_CYCLES: {sorted(map(sorted, gone))}"


def test_the_import_reader_sees_real_imports():
    """Independent facts about two modules, so the checks above cannot pass by reading nothing."""
    assert "graphspec.registry" in imports("graphspec.compiler.component", top_level_only=True)
    assert "graphspec.compiler.ir" in imports("graphspec.compiler.component", top_level_only=True)
    assert "graphspec.compiler.lower_torch" in imports("graphspec.compiler.infer", top_level_only=False)
    assert "graphspec.compiler.lower_torch" not in imports("graphspec.compiler.infer", top_level_only=True)
