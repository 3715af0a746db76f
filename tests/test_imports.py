"""Imports run one way: spec -> registry -> compiler -> layers/models (and the other libraries)
-> api -> cli, and the package has no import cycle. Read from the source with ``ast``: nothing
is imported to check it -- except by the last test, which imports every module on its own in a
fresh interpreter (cycles the source does not show, e.g. a registry lookup at import time)."""
from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from conftest import ROOT

PACKAGE = ROOT / "graphspec"

#: layer of each part of the package (lower layers never import higher ones); parts not named are
#: libraries (layers, models, data, transforms, ...) between the compiler and the API
LAYERS = {"graphspec.spec": 0, "graphspec.registry": 1, "graphspec.compiler": 2, "graphspec.api": 4,
          "graphspec.cli": 5, "graphspec.__main__": 5}
LIBRARY = 3
#: The per-kind front ends the API dispatches to (data specs, export, train) compile the specs
#: they name through the API: they are part of its layer. Each entry is needed
#: (test_every_relabel_is_needed): the transform spec's front end imports no API any more. The
#: mobile backend (graphspec.mobile), whose passes rewrite model ops, is a library of its own.
OVER_THE_CORE = {"graphspec.data.spec": 4, "graphspec.export": 4, "graphspec.train": 4}
#: import-time cycles known and not yet untangled, each with its owner's reason; the test fails
#: once one is gone, so the entry is removed with it
KNOWN_CYCLES: set[frozenset] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for root, prefix in ((PACKAGE, "graphspec"),):
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


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (imports no run performs)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


@functools.lru_cache(maxsize=None)
def imports(module: str, top_level_only: bool, run_only: bool = False) -> frozenset[str]:
    """graphspec modules ``module`` imports (function-level imports too unless ``top_level_only``;
    ``run_only``: not those under ``if TYPE_CHECKING:``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    body = tree.body if top_level_only else list(_runtime_nodes(tree) if run_only else ast.walk(tree))
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


def _packages_above(module: str) -> list[str]:
    """The packages Python imports before ``module``: ``a.b.c`` -> ``["a", "a.b"]``."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


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


@pytest.mark.parametrize("prefix", sorted(OVER_THE_CORE))
def test_every_relabel_is_needed(prefix):
    """A part sits above its natural layer only while one of its modules imports that layer: a
    relabel nothing needs any more would let the part's next upward import pass unseen."""
    level = OVER_THE_CORE[prefix]
    inside = [m for m in MODULES if m == prefix or m.startswith(prefix + ".")]
    needed = {dep for m in inside for dep in imports(m, top_level_only=False)
              if layer(dep) >= level and dep not in inside}
    assert needed, f"nothing in {prefix} imports layer {level}: drop its entry in OVER_THE_CORE"


def test_no_import_cycle_at_import_time():
    graph = nx.DiGraph()
    for module in MODULES:
        graph.add_node(module)
        for dep in imports(module, top_level_only=True):
            # importing a.b.c runs a.b's __init__ first: an edge to each package above the imported
            # module, except the importer itself and its own packages (already being imported) and
            # graphspec, which every submodule imports anyway
            for target in {dep, *_packages_above(dep)} - {"graphspec", module, *_packages_above(module)}:
                graph.add_edge(module, target)
    cycles = [c for c in nx.simple_cycles(graph)]
    new = [c for c in cycles if frozenset(c) not in KNOWN_CYCLES]
    assert new == [], "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in new[:5])
    gone = KNOWN_CYCLES - {frozenset(c) for c in cycles}
    assert not gone, f"untangled, remove from KNOWN_CYCLES: {sorted(map(sorted, gone))}"


#: cycles through deferred (function-level) imports, known and not yet untangled, each with its
#: reason; the test fails once one is gone, so the entry is removed with it
KNOWN_DEFERRED_CYCLES: set[frozenset] = {
    # run_passes' default (the MOBILE list the package builds from the passes); graphspec/mobile's owner
    frozenset({"graphspec.mobile.passes", "graphspec.mobile.passes.manager"}),
}


def test_no_import_cycle_through_deferred_imports():
    """A function-level import does not make a cycle one-way either: module A needs B and B needs A
    (#18's measure counts these: compiler.infer -> lower_torch -> dataflow -> infer, the transmuter)."""
    graph = nx.DiGraph()
    for module in MODULES:
        graph.add_node(module)
        graph.add_edges_from((module, dep) for dep in imports(module, top_level_only=False, run_only=True)
                             if dep != "graphspec")
    cycles = [frozenset(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert set(cycles) - KNOWN_DEFERRED_CYCLES == set(), "import cycles: " + "; ".join(
        " <-> ".join(sorted(c)) for c in set(cycles) - KNOWN_DEFERRED_CYCLES)
    gone = KNOWN_DEFERRED_CYCLES - set(cycles)
    assert not gone, f"untangled, remove from KNOWN_DEFERRED_CYCLES: {sorted(map(sorted, gone))}"


def test_the_import_reader_sees_real_imports():
    """Independent facts about two modules, so the checks above cannot pass by reading nothing."""
    assert "graphspec.registry" in imports("graphspec.compiler.component", top_level_only=True)
    assert "graphspec.compiler.ir" in imports("graphspec.compiler.component", top_level_only=True)
    assert "graphspec.compiler.lower_torch" in imports("graphspec.compiler.infer", top_level_only=False)
    assert "graphspec.compiler.lower_torch" not in imports("graphspec.compiler.infer", top_level_only=True)
    # registry.schema names registry.core's classes in annotations only (under TYPE_CHECKING)
    assert "graphspec.registry.core" in imports("graphspec.registry.schema", top_level_only=False)
    assert "graphspec.registry.core" not in imports("graphspec.registry.schema", top_level_only=False, run_only=True)


def test_the_cycle_graph_counts_the_packages_an_import_runs():
    """`from graphspec.models.x3d import ...` runs graphspec/models/__init__.py first."""
    assert _packages_above("graphspec.models.x3d") == ["graphspec", "graphspec.models"]


#: run in a fresh interpreter: imports the third-party libraries graphspec uses (the slow part,
#: shared), then forks one child per graphspec module (at most one per core at a time); each child
#: imports its module with no graphspec module loaded, so the module is the first one imported, as
#: with ``python -c "import MODULE"``. Prints ``MODULE: error`` for each one that fails.
_IMPORT_EACH_MODULE = r"""
import importlib, os, sys, traceback
for library in ("torch", "numpy", "pydantic", "yaml", "networkx"):
    importlib.import_module(library)
assert not [name for name in sys.modules if name.startswith("graphspec")], "the parent must stay graphspec-free"
pending, running = list(sys.argv[1:]), {}
while pending or running:
    while pending and len(running) < (os.cpu_count() or 1):
        module = pending.pop(0)
        pid = os.fork()
        if pid == 0:
            try:
                importlib.import_module(module)
            except BaseException:
                error = traceback.format_exc().strip().splitlines()[-1]
                os.write(1, f"{module}: {error}\n".encode())  # one write: lines of children never interleave
                os._exit(1)
            os._exit(0)
        running[pid] = module
    pid, status = os.wait()
    module = running.pop(pid)
    if status and os.WIFSIGNALED(status):
        print(f"{module}: killed by signal {os.WTERMSIG(status)}", flush=True)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="forks one child per module (POSIX)")
def test_every_module_imports_first_in_a_fresh_interpreter():
    """``python -c "import graphspec.layers.accelerator.mobile_cpu.convolutions"`` once failed
    (attention -> graphspec.models.x3d -> graphspec.models -> the accelerator models -> attention)
    while a test session, which had imported graphspec.models first, never saw it."""
    result = subprocess.run([sys.executable, "-c", _IMPORT_EACH_MODULE, *sorted(MODULES)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", "modules that fail when imported first:\n" + result.stdout
