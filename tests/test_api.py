"""The Python API (``graphspec.build/compile/check/load_spec``): a cheap ``import graphspec``,
dispatch by spec kind, and argument type checks."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch.nn as nn

import graphspec
from graphspec import api
from graphspec.spec.document import KINDS
from graphspec.spec.errors import SpecError

from test_cli import TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_version_does_not_import_torch():
    result = _python("import sys\nfrom graphspec.cli import main\ncode = main(['--version'])\n"
                     "print(code, 'torch' in sys.modules, 'pydantic' in sys.modules)")
    assert result.returncode == 0, result.stderr
    version, answer = result.stdout.splitlines()
    assert version == f"graphspec {graphspec.__version__}"
    assert answer == "0 False False"


def test_lazy_names_resolve_to_their_modules():
    result = _python("import sys, graphspec\nassert 'torch' not in sys.modules\n"
                     "from graphspec import build, compile, check, load_spec, register, SpecError, Diagnostic\n"
                     "import graphspec.api, graphspec.registry\n"
                     "assert build is graphspec.api.build and register is graphspec.registry.register\n"
                     "assert graphspec.models.create_resnet is not None  # a subpackage on attribute access\n"
                     "print('ok')")
    assert result.stdout.strip() == "ok", result.stderr
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        graphspec.nonexistent  # noqa: B018


def test_builtin_ops_register_on_first_lookup():
    """No import of graphspec.models by the caller: the registry imports graphspec's own ops."""
    result = _python("from graphspec import registry\nprint('create_resnet' in registry.names())")
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_kind_has_a_compiler(kind):
    """Each kind the document union accepts is compiled by a module with compile_document."""
    module = importlib.import_module(api.KIND_COMPILERS[kind])
    assert callable(module.compile_document)


def _first_spec_of_kind(kind: str) -> Path:
    for path in sorted((ROOT / "specs").rglob("*.yaml")):
        if path.parent.name != "base" and f"kind: {kind}\n" in path.read_text():
            return path
    raise AssertionError(f"no spec of kind {kind!r} under specs/ to test with")


@pytest.mark.parametrize("kind", KINDS)
def test_compile_and_check_dispatch_by_kind(kind):
    path = _first_spec_of_kind(kind)
    compiled = graphspec.compile(path)
    assert compiled.spec.kind == kind and compiled.ok, compiled.diagnostics
    assert graphspec.check(path) == []
    assert graphspec.load_spec(path).kind == kind


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_compiles_to_the_one_compiled_protocol(kind):
    """Model, transform, data and train results are each a ``Compiled`` (spec, diagnostics, ok,
    build()): an error on any of them makes it not ok and stops ``graphspec.build`` of it."""
    from graphspec.spec.compiled import Compiled
    from graphspec.spec.errors import Diagnostic

    compiled = graphspec.compile(_first_spec_of_kind(kind))
    assert isinstance(compiled, Compiled) and compiled.ok
    assert not isinstance(str(_first_spec_of_kind(kind)), Compiled)
    compiled.diagnostics.append(Diagnostic("an injected error", path=("name",), code="schema"))
    assert not compiled.ok
    with pytest.raises(SpecError, match="an injected error"):
        graphspec.build(compiled)


@pytest.mark.parametrize("overrides", [["model.out_channels=0"], ["expect.outputs.features=[B, 9, 4, 8, 8]"],
                                       ["model.out_chanels=4"], ["inputs.video=[B, 3, 4, 32]"]])
def test_the_model_compiler_and_the_api_share_one_driver(tmp_path, overrides):
    """compiler.pipeline.compile_spec and graphspec.compile load, locate and compile alike: the
    same findings at the same lines (from the file and from --set), raised or collected."""
    from graphspec.compiler.pipeline import compile_spec

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_MODEL)

    def findings(compile_function):
        try:
            return [(d.dotted, d.code, d.message, d.location) for d in compile_function(path, overrides).diagnostics]
        except SpecError as err:
            return ["raised"] + [(d.dotted, d.code, d.message, d.location) for d in err.diagnostics]

    found = findings(graphspec.compile)
    assert found and all(where.line >= 1 for *_, where in found[found[0] == "raised":])
    assert findings(compile_spec) == found


def test_the_model_compiler_refuses_another_kind_at_its_kind_key():
    from graphspec.compiler.pipeline import compile_spec

    path = _first_spec_of_kind("transform")
    with pytest.raises(SpecError) as err:
        compile_spec(path)
    (diag,) = err.value.diagnostics
    assert diag.dotted == "kind" and "compiles model specs; this is a transform spec" in diag.message
    assert diag.location.file == str(path) and path.read_text().splitlines()[diag.location.line - 1].startswith("kind:")


def test_build_of_a_transform_spec_is_its_callable():
    built = graphspec.build(_first_spec_of_kind("transform"))
    assert callable(built) and not isinstance(built, type)


def test_build_takes_a_compiled_result(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_MODEL)
    compiled = graphspec.compile(path)
    model = graphspec.build(compiled)
    assert isinstance(model, nn.Module)
    with pytest.raises(TypeError, match="already compiled"):
        graphspec.build(compiled, ["model.out_channels=4"])


@pytest.mark.parametrize("call, words", [
    (lambda: graphspec.build(None), "takes the path of a spec file (str or pathlib.Path), got NoneType"),
    (lambda: graphspec.compile(3), "got int"),
    (lambda: graphspec.check(["a.yaml"]), "got list"),
    (lambda: graphspec.compile("x.yaml", "model.x=1"), "wrap one override in a list"),
    (lambda: graphspec.compile("x.yaml", 5), "a list of 'PATH=VALUE' strings or a mapping"),
    (lambda: graphspec.compile("x.yaml", [("model.x", 1)]), "every override is a 'PATH=VALUE' string"),
    (lambda: graphspec.compile("x.yaml", {1: 2}), "override keys are dotted key paths"),
    (lambda: graphspec.compile("x.yaml", {"model.norm": object()}), "override 'model.norm'"),
])
def test_api_type_checks_its_arguments(call, words):
    with pytest.raises(TypeError) as info:
        call()
    assert words in str(info.value)


def test_overrides_as_a_mapping_equal_the_strings(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_MODEL)
    by_mapping = graphspec.compile(path, {"model.out_channels": 4, "model.activation": nn.ReLU})
    by_strings = graphspec.compile(path, ["model.out_channels=4", "model.activation=ReLU"])
    assert str(by_mapping.outputs["features"]) == str(by_strings.outputs["features"]) == "[B, 4, 4, 8, 8]"


def test_bad_spec_is_a_spec_error_not_a_type_error(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        graphspec.compile(tmp_path / "missing.yaml")
