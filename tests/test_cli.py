"""The ``graphspec`` command line, called in-process through ``main([...])`` (plus one real
``python -m graphspec`` run): exit codes, output formats, atomic writes, the expand round trip,
drawings, op and zoo listings and the editor JSON Schema."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import graphspec
from graphspec.cli import specs as cli_specs
from graphspec.cli.expand import expanded_yaml
from graphspec.compiler.draw import dot_quote, mermaid_quote
from graphspec.schema import spec_schema
from graphspec.cli import main
from graphspec.compiler.expand import expand_document
from graphspec.compiler.ir import PYTHON_OP, Node
from graphspec.compiler.pipeline import compile_document, compile_spec
from graphspec.spec.document import validate_document
from graphspec.spec.errors import SpecError
from graphspec.spec.source import SourceMap, load_yaml

ROOT = Path(__file__).resolve().parents[1]
SLOW_R50 = ROOT / "specs" / "models" / "slow_r50.yaml"
TWO_STREAM = ROOT / "examples" / "two_stream.yaml"
BAD_SPECS = ROOT / "tests" / "bad_specs"
ROUND_TRIP_SPECS = [p for p in sorted((ROOT / "specs" / "models").glob("*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
                    if load_yaml(p)[0].get("kind", "model") == "model"]  # expand describes models

#: a tiny graph spec: compiles and lowers in milliseconds
TINY = """\
graphspec: 1
kind: model
name: tiny
description: "a tiny two-stream graph (\\"quoted\\" <b>name</b>)"
inputs: {rgb: [B, 3, 4, 32, 32], flow: [B, 2, 4, 32, 32]}
nodes:
  rgb_stem: {op: create_res_basic_stem, in: rgb, in_channels: 3, out_channels: 8}
  flow_stem: {op: create_res_basic_stem, in: flow, in_channels: 2, out_channels: 8}
  fuse: {op: Concat, dim: 1, in: [rgb_stem, flow_stem]}
  head: {op: create_res_basic_head, in: fuse, in_features: 16, out_features: 5, pool: AdaptiveAvgPool3d}
outputs: {logits: head}
expect:
  outputs: {logits: [B, 5]}
"""

#: a tiny model-form spec
TINY_MODEL = """\
graphspec: 1
kind: model
name: tiny_stem
inputs: {video: [B, 3, 4, 32, 32]}
model: {op: create_res_basic_stem, in_channels: 3, out_channels: 8}
outputs: [features]
expect:
  outputs: {features: [B, 8, 4, 8, 8]}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# --------------------------------------------------------------------------------------------- validate


def test_validate_clean_zoo_spec(capsys):
    code, out, err = run(capsys, "validate", SLOW_R50)
    assert code == 0, out + err
    assert out.strip().splitlines()[-1] == "1 file: 1 clean"


def test_validate_findings_exit_1_with_location_and_summary(tmp_path, capsys):
    good = write(tmp_path, "good.yaml", TINY)
    bad = write(tmp_path, "bad.yaml", TINY.replace("in_features: 16", "in_features: 17"))
    code, out, _ = run(capsys, "validate", good, bad)
    assert code == 1
    assert f"{bad}:" in out and "in_features=17" in out and f"{good}:" not in out
    assert out.strip().splitlines()[-1] == "2 files: 1 clean, 1 with findings (1 error)"


def test_validate_expect_failure_is_a_finding(tmp_path, capsys):
    spec = write(tmp_path, "s.yaml", TINY_MODEL.replace("[B, 8, 4, 8, 8]", "[B, 8, 4, 9, 9]"))
    code, out, _ = run(capsys, "validate", spec)
    assert code == 1
    assert f"{spec}:8:13: expect.outputs.features: expected output shape" in out


def test_validate_warnings_do_not_fail(tmp_path, capsys):
    spec = write(tmp_path, "s.yaml", TINY.replace("outputs: {logits: head}",
                                                  "  extra: {op: ReLU, in: fuse}\noutputs: {logits: head}"))
    code, out, _ = run(capsys, "validate", spec)
    assert code == 0, out
    assert "warning: nodes.extra: node 'extra' does not reach any output" in out
    assert out.strip().splitlines()[-1] == "1 file: 1 clean (1 warning)"


@pytest.mark.parametrize("case, words", [
    ("missing", "file not found"),
    ("syntax", "invalid YAML"),
    ("bad_set", "unknown --set path"),
    ("no_match", "no files match this pattern"),
])
def test_validate_unusable_input_exit_2(tmp_path, capsys, case, words):
    good = write(tmp_path, "good.yaml", TINY)
    argv = {
        "missing": ["validate", good, tmp_path / "nope.yaml"],
        "syntax": ["validate", good, write(tmp_path, "broken.yaml", "graphspec: 1\nkind: [model\n")],
        "bad_set": ["validate", good, "--set", "nodes.nope.in_channels=4"],
        "no_match": ["validate", good, str(tmp_path / "none" / "*.yaml")],
    }[case]
    code, out, _ = run(capsys, *argv)
    assert code == 2, out
    assert words in out


def test_validate_unusable_beats_findings(tmp_path, capsys):
    bad = write(tmp_path, "bad.yaml", TINY.replace("in_features: 16", "in_features: 17"))
    code, out, _ = run(capsys, "validate", bad, tmp_path / "missing.yaml")
    assert code == 2
    assert out.strip().splitlines()[-1] == "2 files: 0 clean, 1 with findings, 1 unusable (2 errors)"


def test_validate_bad_set_names_the_override(tmp_path, capsys):
    spec = write(tmp_path, "s.yaml", TINY)
    code, out, _ = run(capsys, "validate", spec, "--set", "nodes.fuse.dim=1", "--set", "nodes.head.in_feature=3")
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("<--set>:2:"))
    assert "create_res_basic_head has no argument 'in_feature' (did you mean 'in_features'?)" in line
    assert f"[--set nodes.head.in_feature=3, applied to {spec}]" in line


def test_validate_github_format(tmp_path, capsys):
    bad = write(tmp_path, "bad, name.yaml", TINY.replace("in: rgb,", "in: rbg,"))
    code, out, _ = run(capsys, "validate", "--format", "github", bad)
    assert code == 1
    (line,) = out.strip().splitlines()  # no summary line in github mode
    escaped = str(bad).replace(":", "%3A").replace(",", "%2C")
    assert line == (f"::error file={escaped},line=7,col=41,title=graphspec::nodes.rgb_stem.in: "
                    "unknown input 'rbg' (did you mean 'rgb'?)")


BASE_WITH_ERROR = """\
graphspec: 1
kind: model
name: base
inputs: {video: [B, 3, 4, 32, 32]}
model:
  op: create_res_basic_stem
  in_channels: 3
  out_channel: 8
outputs: [features]
"""


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_inherited_finding_names_the_validated_spec(tmp_path, capsys, fmt):
    base = write(tmp_path, "parts/base.yaml", BASE_WITH_ERROR)
    child = write(tmp_path, "child.yaml", "extends: parts/base.yaml\nname: child\n")
    line = BASE_WITH_ERROR.splitlines().index("  out_channel: 8") + 1
    where = f"{base}:{line}:3"  # the key's own position in the parent file
    code, out, _ = run(capsys, "validate", "--format", fmt, child)
    assert code == 1
    if fmt == "json":
        (entry,) = json.loads(out)
        assert (entry["file"], entry["line"], entry["col"]) == (str(base), line, 3)
        assert entry["spec"] == str(child) and entry["inherited_from"] == where
    else:
        finding = out.splitlines()[0]
        assert f"[in {child}, inherited from {where}]" in finding
        assert finding.startswith(f"{where}:" if fmt == "text" else f"::error file={str(base).replace(':', '%3A')},line={line},col=3,")


def test_set_of_an_undeclared_input_is_refused(tmp_path, capsys):
    spec = write(tmp_path, "s.yaml", TINY_MODEL)
    code, out, _ = run(capsys, "validate", spec, "--set", "inputs.vidoe=[B, 3, 4, 32, 32]")
    assert code == 2 and "no input 'vidoe' in 'inputs'" in out and "did you mean 'video'?" in out
    code, out, _ = run(capsys, "validate", spec, "--set", "inputs.video=[1, 3, 4, 32, 32]")
    assert code == 0, out


def test_validate_json_format(tmp_path, capsys):
    good = write(tmp_path, "good.yaml", TINY)
    bad = write(tmp_path, "bad.yaml", TINY.replace("in: rgb,", "in: rbg,"))
    code, out, _ = run(capsys, "validate", "--format", "json", good, bad)
    assert code == 1
    items = json.loads(out)
    assert items == [{
        "file": str(bad), "line": 7, "col": 41, "path": "nodes.rgb_stem.in", "severity": "error",
        "code": "graph", "message": "unknown input 'rbg'", "hint": "did you mean 'rgb'?", "spec": str(bad),
    }]
    assert json.loads(run(capsys, "validate", "--format", "json", good)[1]) == []


def test_validate_expands_globs_folders_and_skips_non_yaml(tmp_path, capsys):
    write(tmp_path, "a/one.yaml", TINY)
    write(tmp_path, "a/deep/two.yaml", TINY_MODEL)
    write(tmp_path, "a/__init__.py", "")
    write(tmp_path, "a/notes.txt", "not a spec")
    code, out, _ = run(capsys, "validate", str(tmp_path / "**" / "*.yaml"))
    assert code == 0, out
    assert out.strip().endswith("2 files: 2 clean")
    # a folder means its *.yaml, recursively; names the shell expanded are filtered the same way
    code, out, _ = run(capsys, "validate", tmp_path / "a", tmp_path / "a" / "__init__.py",
                       tmp_path / "a" / "notes.txt", tmp_path / "a" / "one.yaml")
    assert code == 0, out
    assert out.strip().endswith("2 files: 2 clean")
    code, _, err = run(capsys, "validate", tmp_path / "a" / "notes.txt")
    assert code == 2 and "no YAML spec files" in err


def test_expand_spec_args_recursive_glob():
    files, unmatched = cli_specs.expand_spec_args([str(ROOT / "specs" / "**" / "*.yaml"), str(ROOT / "specs" / "models")])
    assert unmatched == []
    names = [Path(f).name for f in files]
    assert "slow_r50.yaml" in names and names.count("slow_r50.yaml") == 1  # no duplicates
    assert all(n.endswith(".yaml") for n in names)


# --------------------------------------------------------------------------------------------- build


def test_build_writes_state_dict_and_expanded_spec(tmp_path, capsys):
    spec = write(tmp_path, "tiny.yaml", TINY)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run(capsys, "build", spec, "-o", out_dir / "model.pt", "--seed", "0")
    assert code == 0, err
    assert "total (tiny)" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["model.pt", "model.spec.yaml"]  # no temp files left
    state = torch.load(out_dir / "model.pt", weights_only=True)
    rebuilt = graphspec.build(out_dir / "model.spec.yaml")
    rebuilt.load_state_dict(state, strict=True)
    torch.manual_seed(0)
    assert all(torch.equal(state[k], v) for k, v in graphspec.build(spec).state_dict().items())
    assert "wrote" in err and "model.spec.yaml" in err


def test_build_zoo_model_saved_checkpoint_loads_strictly(tmp_path, capsys):
    code, _, err = run(capsys, "build", ROOT / "examples" / "csn_r50_variant.yaml", "-o", tmp_path / "csn.pt")
    assert code == 0, err
    model = graphspec.build(tmp_path / "csn.spec.yaml")
    model.load_state_dict(torch.load(tmp_path / "csn.pt", weights_only=True), strict=True)


def test_build_is_atomic_when_writing_fails(tmp_path, capsys, monkeypatch):
    spec = write(tmp_path, "tiny.yaml", TINY)
    (tmp_path / "model.pt").write_bytes(b"old")

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    code, _, err = run(capsys, "build", spec, "-o", tmp_path / "model.pt")
    assert code == 2
    assert f"cannot write {tmp_path / 'model.pt'}: No space left on device" in err
    assert (tmp_path / "model.pt").read_bytes() == b"old"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "tiny.yaml"]


def test_build_errors_write_nothing(tmp_path, capsys):
    spec = write(tmp_path, "bad.yaml", TINY.replace("in_features: 16", "in_features: 17"))
    code, out, err = run(capsys, "build", spec, "-o", tmp_path / "model.pt")
    assert code == 1
    assert f"{spec}:" in err and "in_features=17" in err
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "model.spec.yaml").exists()
    code, _, err = run(capsys, "build", tmp_path / "missing.yaml")
    assert code == 2 and "file not found" in err


def test_build_output_folder_must_exist(tmp_path, capsys):
    spec = write(tmp_path, "tiny.yaml", TINY)
    code, out, err = run(capsys, "build", spec, "-o", tmp_path / "no" / "model.pt")
    assert code == 2 and out == ""
    assert "folder" in err and "does not exist" in err


def test_build_refuses_to_overwrite_its_input_spec(tmp_path, capsys):
    spec = write(tmp_path, "model.spec.yaml", TINY)
    for output in (spec, tmp_path / "model.pt"):  # the state_dict, or the spec written beside it
        code, _, err = run(capsys, "build", spec, "-o", output)
        assert code == 2 and f"would overwrite the input spec {spec}" in err
        assert spec.read_text() == TINY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.spec.yaml"]


def test_build_checks_the_destination_before_compiling(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(cli_specs, "compile_file", lambda *a: calls.append(a))
    spec = write(tmp_path, "tiny.yaml", TINY)
    code, _, err = run(capsys, "build", spec, "-o", "/proc/model.pt")  # no file can be created there
    assert code == 2 and "cannot write /proc/model.pt" in err and calls == []


def test_build_reports_expect_as_warnings(tmp_path, capsys):
    spec = write(tmp_path, "tiny.yaml", TINY)
    code, out, err = run(capsys, "build", spec, "--set", "nodes.head.out_features=7")
    assert code == 0, err
    assert "warning: expect.outputs.logits: expected output shape" in err
    assert "logits [B, 7]" in out


# --------------------------------------------------------------------------------------------- summary


def test_summary_json_matches_reference_figures(capsys):
    code, out, _ = run(capsys, "summary", SLOW_R50, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "slow_r50"
    assert data["params"] == 32454096
    assert data["macs"] == pytest.approx(41.92e9, rel=0.01)
    assert data["inputs"] == {"video": ["B", 3, 8, 224, 224]}
    assert data["outputs"] == {"logits": ["B", 400]}
    root = data["nodes"][0]
    assert root["path"] == "" and root["op"] == "Net" and root["params"] == 32454096
    conv_a = next(n for n in data["nodes"] if n["path"] == "blocks.1.res_blocks.0.branch2.conv_a")
    assert conv_a == {"path": "blocks.1.res_blocks.0.branch2.conv_a", "op": "Conv3d",
                      "output": ["B", 64, 8, 56, 56], "params": 4096, "macs": 102760448}
    code, out, _ = run(capsys, "summary", SLOW_R50, "--json", "--depth", "2")
    assert {n["path"] for n in json.loads(out)["nodes"]} == {""} | {f"blocks.{i}" for i in range(6)}


def test_summary_table_depth_and_totals(capsys):
    code, out, _ = run(capsys, "summary", SLOW_R50)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "inputs: video [B, 3, 8, 224, 224]"
    assert lines[1].split() == ["path", "op", "output", "params", "MACs"]
    assert any(line.strip().startswith("blocks.1.res_blocks.0 ") for line in lines)  # depth 3 by default
    assert not any("branch2" in line for line in lines)
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[:3] == ["total", "(slow_r50)", "Net"] and "32,454,096" in total and "41.92G" in total
    code, out, _ = run(capsys, "summary", SLOW_R50, "--depth", "-1")
    assert "blocks.1.res_blocks.0.branch2.conv_a" in out


def test_summary_rejects_bad_depth(capsys):
    code, _, err = run(capsys, "summary", SLOW_R50, "--depth", "0")
    assert code == 2 and "expected a depth of 1 or more" in err


def test_summary_of_a_broken_graph_prints_findings(tmp_path, capsys):
    spec = write(tmp_path, "bad.yaml", TINY.replace("in: rgb,", "in: rbg,"))
    code, out, err = run(capsys, "summary", spec)
    assert code == 1 and out == ""
    assert "unknown input 'rbg'" in err


@pytest.mark.parametrize("edit, code", [
    (("", ""), 0),  # clean
    (("[B, 8, 4, 8, 8]", "[B, 8, 4, 9, 9]"), 1),  # a failed expect
    (("  outputs: {features: [B, 8, 4, 8, 8]}", "  outputs: {features: [B, 8, 4, 8, 8]}\n  params: 999"),
     1),  # a failed expect of the parameter count
    (("in_channels: 3", "in_channels: 4"), 1),  # an error
])
@pytest.mark.parametrize("command", ["summary", "graph"])
def test_summary_and_graph_exit_like_validate_on_the_same_findings(tmp_path, capsys, edit, code, command):
    spec = write(tmp_path, "s.yaml", TINY_MODEL.replace(*edit) if edit[0] else TINY_MODEL)
    validated, out, _ = run(capsys, "validate", spec)
    assert validated == code, out
    finding = [line for line in out.splitlines() if line.startswith(f"{spec}:")]
    got, _, err = run(capsys, command, spec)
    assert got == validated, err
    assert all(line in err for line in finding)  # the same findings, as validate words them


# --------------------------------------------------------------------------------------------- expand


def _ir(compiled) -> list:
    """Every node's path, op and plain arguments (sub-nodes by op), for comparing two IRs."""
    def plain(value):
        if isinstance(value, Node):
            return ("node", value.op)
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    def args(node: Node) -> dict:  # defaults filled in: templates may leave them out
        specs = graphspec.registry.get(node.op).args
        full = {k: s.default for k, s in specs.items() if not s.required}
        full.update(node.args)
        return {k: plain(v) for k, v in full.items()}

    return [(n.path, n.op, args(n)) for n in compiled.nodes]


def _outputs(compiled) -> dict:
    return {k: str(v) for k, v in compiled.outputs.items()}


@pytest.mark.parametrize("spec", ROUND_TRIP_SPECS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_expand_round_trip(spec):
    original = compile_spec(spec)
    assert original.ok, [d.format() for d in original.diagnostics]
    data = expand_document(original)
    text = expanded_yaml(original, str(spec))
    # the YAML text holds exactly the data (checked with libyaml: the expanded files are large)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert yaml.load(text, Loader=loader) == json.loads(json.dumps(data))
    assert "expect" not in data and all(data[k] == original.data[k] for k in ("graphspec", "kind", "name", "inputs"))
    rebuilt = compile_document(validate_document(data), data, SourceMap("expanded.yaml"), "expanded.yaml")
    assert [d.format() for d in rebuilt.diagnostics if d.severity == "error"] == []
    assert rebuilt.state == original.state
    assert _outputs(rebuilt) == _outputs(original)
    assert rebuilt.macs == original.macs and rebuilt.params == original.params
    assert _ir(rebuilt) == _ir(original)  # same tree, same arguments: lowering is the same code path


@pytest.mark.parametrize("spec", [TWO_STREAM, ROOT / "examples" / "x3d_variant.yaml",
                                  ROOT / "examples" / "csn_r50_variant.yaml"], ids=lambda p: p.name)
def test_expand_file_round_trip_builds_identical_weights(spec, tmp_path, capsys):
    expanded = tmp_path / "expanded.yaml"
    code, _, err = run(capsys, "expand", spec, "-o", expanded)
    assert code == 0, err
    original, rebuilt = compile_spec(spec), compile_spec(expanded)
    assert rebuilt.ok, [d.format() for d in rebuilt.diagnostics]
    assert rebuilt.state == original.state and rebuilt.macs == original.macs
    assert _outputs(rebuilt) == _outputs(original)
    torch.manual_seed(0)
    a = original.lower().state_dict()
    torch.manual_seed(0)
    b = rebuilt.lower().state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_expand_prints_yaml_with_header(tmp_path, capsys):
    spec = write(tmp_path, "tiny.yaml", TINY)
    code, out, _ = run(capsys, "expand", spec, "--set", "nodes.head.out_features=3")
    assert code == 0
    assert out.startswith(f"# expanded by `graphspec expand` from {spec}\n")
    data = yaml.safe_load(out)
    assert list(data) == ["graphspec", "kind", "name", "description", "inputs", "nodes", "outputs"]
    assert data["nodes"]["fuse"] == {"op": "Concat", "in": ["rgb_stem", "flow_stem"], "dim": 1}
    head = data["nodes"]["head"]
    assert head["op"] == "ResNetBasicHead" and head["in"] == "fuse"
    assert head["proj"] == {"op": "Linear", "in_features": 16, "out_features": 3, "bias": True}
    assert data["nodes"]["rgb_stem"]["conv"]["kernel_size"] == [3, 7, 7]


def test_expand_python_callable_is_an_error(tmp_path):
    compiled = compile_spec(write(tmp_path, "tiny.yaml", TINY))
    node = compiled.graph.nodes["fuse"]
    node.op, node.args = PYTHON_OP, {}
    node.meta["callable"] = lambda *xs: torch.cat(xs, 1)
    with pytest.raises(SpecError) as info:
        expand_document(compiled)
    (diag,) = info.value.diagnostics
    assert diag.dotted == "nodes.fuse" and diag.location.line == 9
    assert "is a Python callable, not a registered op, so it has no YAML form" in diag.message
    assert "@graphspec.register" in diag.hint


def test_expand_errors_exit_1(tmp_path, capsys):
    spec = write(tmp_path, "bad.yaml", TINY.replace("in_features: 16", "in_features: 17"))
    code, out, err = run(capsys, "expand", spec)
    assert code == 1 and out == ""
    assert "in_features=17" in err


# --------------------------------------------------------------------------------------------- graph


def test_graph_dot_of_a_graph_spec(tmp_path, capsys):
    spec = write(tmp_path, "tiny.yaml", TINY)
    code, out, _ = run(capsys, "graph", spec, "--format", "dot", "--depth", "1")
    assert code == 0
    assert out.startswith('digraph "tiny" {') and out.rstrip().endswith("}")
    assert out.count("{") == out.count("}")
    assert 'label="fuse\\nConcat\\n[B, 16, 4, 8, 8]"' in out
    assert 'label="rgb\\n[B, 3, 4, 32, 32]", shape=ellipse' in out
    edges = [line.strip() for line in out.splitlines() if "->" in line]
    assert len(edges) == 6  # rgb, flow -> stems -> fuse (2) -> head -> logits


def test_graph_mermaid_of_a_model_spec(capsys):
    code, out, _ = run(capsys, "graph", SLOW_R50, "--format", "mermaid", "--depth", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "flowchart TB"
    assert '  n2["blocks.0<br/>ResNetBasicStem<br/>[B, 64, 8, 56, 56]"]' in lines
    assert sum(" -.- " in line for line in lines) == 6  # the root and its six blocks


def test_graph_labels_are_escaped():
    assert dot_quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'
    assert mermaid_quote('a "b" <i> & c\nd') == '"a #quot;b#quot; #lt;i#gt; #amp; c<br/>d"'


def test_graph_title_with_quotes(tmp_path, capsys):
    spec = write(tmp_path, "q.yaml", TINY_MODEL.replace("name: tiny_stem", 'name: "tiny \\"stem\\""'))
    code, out, _ = run(capsys, "graph", spec, "-o", tmp_path / "g.dot")
    assert code == 0 and out == ""
    assert (tmp_path / "g.dot").read_text().startswith('digraph "tiny \\"stem\\"" {')


# --------------------------------------------------------------------------------------------- ops


def test_ops_lists_every_op_with_kind_and_doc(capsys):
    code, out, _ = run(capsys, "ops")
    assert code == 0
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:-1]}
    assert rows["Conv3d"] == "module" and rows["create_resnet"] == "builder" and rows["Concat"] == "graph"
    assert "Concatenate the inputs along `dim`." in out
    code, out, _ = run(capsys, "ops", "--kind", "builder", "--json")
    items = json.loads(out)
    assert {i["kind"] for i in items} == {"builder"} and "create_resnet" in {i["name"] for i in items}


def test_ops_shows_an_ops_arguments(capsys):
    code, out, _ = run(capsys, "ops", "Conv3d")
    assert code == 0
    assert out.startswith("Conv3d (module)")
    row = next(line for line in out.splitlines() if line.startswith("in_channels "))
    assert row.split() == ["in_channels", "int", "(required)"]
    row = next(line for line in out.splitlines() if line.startswith("kernel_size "))
    assert "int | tuple[int, int, int]" in row
    code, out, _ = run(capsys, "ops", "create_resnet", "--json")
    args = {a["name"]: a for a in json.loads(out)["args"]}
    assert args["norm"] == {"name": "norm", "type": "component | None", "required": False, "default": "BatchNorm3d"}
    assert args["head_pool_kernel_size"]["default"] == [4, 7, 7]


def test_ops_unknown_name(capsys):
    code, _, err = run(capsys, "ops", "conv3d")
    assert code == 2
    assert "unknown op 'conv3d' (did you mean 'Conv3d'?)" in err


# --------------------------------------------------------------------------------------------- zoo


def test_zoo_lists_specs_with_expected_figures(capsys):
    code, out, _ = run(capsys, "zoo")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("slow_r50 "))
    assert row.split()[:3] == ["slow_r50", "32.45M", "41.92G"]
    code, out, _ = run(capsys, "zoo", "--json")
    entry = next(e for e in json.loads(out) if e["name"] == "slow_r50")
    assert entry["params"] == 32454096 and entry["macs"] == 41.92e9
    assert entry["description"].startswith("Slow-only ResNet-50")


# --------------------------------------------------------------------------------------------- schema

@pytest.fixture(scope="module")
def validator():
    import jsonschema  # a test dependency (pyproject [test])

    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_files() -> list[Path]:
    files = sorted((ROOT / "specs").rglob("*.yaml")) + sorted((ROOT / "examples").glob("*.yaml"))
    return [f for f in files if not (f.parent.name == "base" and not _is_complete(f))]


def _is_complete(path: Path) -> bool:
    data = load_yaml(path)[0]
    return all(k in data for k in ("graphspec", "kind", "name", "inputs"))


@pytest.mark.parametrize("path", _schema_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_spec_files_validate_against_schema(path, validator):
    data = load_yaml(path)[0]  # the file as an editor sees it (extends unresolved)
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(data)]
    if errors:  # the schema may only reject what the compiler rejects too
        assert graphspec.check(path), f"the schema rejects a valid spec: {errors}"


def test_schema_accepts_expanded_specs(validator):
    validator.validate(expand_document(compile_spec(TWO_STREAM)))


@pytest.mark.parametrize("edit", [
    lambda d: d["nodes"]["fuse"].update(op="Concatt"),                       # unknown op
    lambda d: d["nodes"]["rgb_stem"].update(out_channel=3),                  # unknown argument
    lambda d: d["nodes"]["rgb_stem"].update(conv_kernel_size=[3, 7]),        # tuple of 2, not 3
    lambda d: d["nodes"]["rgb_stem"].update(out_channels="eight"),           # string for int
    lambda d: d["nodes"]["rgb_stem"].pop("in"),                              # graph node without in
    lambda d: d["nodes"]["rgb_stem"].pop("in_channels"),                     # required argument
    lambda d: d["nodes"]["head"].update(pool={"op": "AvgPool3d", "kernel_sise": 3}),  # nested component
    lambda d: d.update(model={"op": "Conv3d"}),                              # model and nodes
    lambda d: d.update(modle=1),                                             # unknown top-level key
], ids=["unknown-op", "unknown-arg", "tuple-length", "type", "no-in", "required", "nested", "both", "top-key"])
def test_schema_rejects_bad_specs(validator, edit):
    data = yaml.safe_load(TINY)
    validator.validate(data)
    edit(data)
    assert list(validator.iter_errors(data))


@pytest.mark.parametrize("node, arg, value", [
    ("rgb_stem", "out_channels", True),          # bool is not an int (no coercion)
    ("rgb_stem", "out_channels", "8"),           # a numeric string is not an int
    ("rgb_stem", "out_channels", 0),             # channels >= 1
    ("rgb_stem", "conv_stride", [1, 0, 2]),      # strides >= 1
    ("rgb_stem", "conv_padding", [0, -1, 3]),    # padding >= 0
    ("head", "out_features", 2.5),               # a float is not a class count
    ("head", "dropout_rate", "half"),
    ("fuse", "dim", "1"),
], ids=lambda v: repr(v))
def test_schema_and_validation_refuse_the_same_values(validator, tmp_path, node, arg, value):
    """The schema is generated from the argument models that validate: a value `validate` refuses
    is refused by the editor schema as well (and the spec without it is accepted by both)."""
    data = yaml.safe_load(TINY)
    validator.validate(data)
    data["nodes"][node][arg] = value
    spec = write(tmp_path, "bad.yaml", yaml.safe_dump(data))
    located = [d for d in graphspec.check(spec) if d.severity == "error"]
    assert any(arg in d.path for d in located), [str(d) for d in located]
    refused_at = [list(leaf.absolute_path)[:3] for error in validator.iter_errors(data) for leaf in _leaf_errors(error)]
    assert ["nodes", node, arg] in refused_at


def _leaf_errors(error):
    """The innermost errors under a union's error: they carry the path of the refused value."""
    if not error.context:
        yield error
    for sub in error.context:
        yield from _leaf_errors(sub)


def test_schema_allows_partial_specs_that_extend(validator):
    validator.validate({"extends": "base.yaml", "name": "x", "model": {"model_depth": 101}})
    validator.validate({"extends": "base.yaml", "model": {"op": "create_resnet", "model_depth": 101}})
    assert list(validator.iter_errors({"extends": "base.yaml", "model": {"op": "create_resnet", "depth": 1}}))


def test_schema_command_writes_json(tmp_path, capsys):
    code, out, err = run(capsys, "schema", "-o", tmp_path / "schema.json")
    assert code == 0 and out == ""
    schema = json.loads((tmp_path / "schema.json").read_text())
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert set(schema["$defs"]["OpName"]["enum"]) == set(graphspec.registry.names())
    conv = schema["$defs"]["op.Conv3d"]["properties"]
    assert conv["kernel_size"]["anyOf"][1]["minItems"] == 3
    assert conv["padding_mode"]["default"] == "zeros"


# --------------------------------------------------------------------------------------------- errors


def test_internal_error_is_one_line_and_exit_3(tmp_path, capsys, monkeypatch):
    spec = write(tmp_path, "tiny.yaml", TINY)

    compile_ = cli_specs.compile_file

    def boom(path, overrides):
        if Path(path).name == "tiny.yaml":
            raise RuntimeError("something broke\nsecond line")
        return compile_(path, overrides)

    monkeypatch.setattr(cli_specs, "compile_file", boom)
    monkeypatch.delenv("GRAPHSPEC_DEBUG", raising=False)
    code, out, err = run(capsys, "summary", spec)
    assert code == 3
    assert err.splitlines()[0] == "graphspec: internal error in `graphspec summary`: RuntimeError: something broke"
    assert "this is a bug in graphspec" in err
    code, out, err = run(capsys, "validate", spec, spec.with_name("other.yaml"))
    assert code == 3  # a crash on one file does not hide the others' results
    assert "internal error while validating" in err and "file not found" in out
    assert out.strip().splitlines()[-1] == "2 files: 0 clean, 1 unusable, 1 internal error (2 errors)"
    assert f"{spec}: internal error: RuntimeError: something broke" in out
    # machine-readable formats carry the crash too, so CI shows it where it shows findings
    code, out, _ = run(capsys, "validate", "--format", "json", spec)
    (entry,) = json.loads(out)
    assert code == 3 and entry["code"] == "internal" and entry["file"] == str(spec)
    assert entry["message"] == "internal error: RuntimeError: something broke"
    code, out, _ = run(capsys, "validate", "--format", "github", spec)
    assert code == 3 and out.startswith(f"::error file={str(spec).replace(':', '%3A')},line=1,col=1,title=graphspec::")


def test_keyboard_interrupt_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_specs, "compile_file", interrupted)
    code, _, err = run(capsys, "validate", write(tmp_path, "tiny.yaml", TINY))
    assert code == 130 and "interrupted" in err


def test_usage_errors_exit_2_and_help_exits_0(capsys):
    assert run(capsys, "frobnicate")[0] == 2
    assert run(capsys)[0] == 2
    assert run(capsys, "validate")[0] == 2
    assert run(capsys, "graph", SLOW_R50, "--format", "png")[0] == 2
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "validate" in out


def test_python_dash_m_entry_point():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "graphspec", "validate", "specs/models/slow_r50.yaml"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "1 file: 1 clean"


#: in a fresh interpreter: the API compiles a spec, then the command line validates it
_FREEZE_PROBE = """
import gc, graphspec
from graphspec.cli import main
graphspec.compile("specs/models/slow_r50.yaml")
by_library = gc.get_freeze_count()
code = main(["validate", "specs/models/slow_r50.yaml"])
print(by_library, code, gc.get_freeze_count() > 0)
"""


def test_only_the_command_line_freezes_the_garbage_collected_heap():
    """The CLI owns its process: it moves what registering the ops built to the GC's permanent
    generation (validate's start-up); a library call leaves its caller's heap alone."""
    result = subprocess.run([sys.executable, "-c", _FREEZE_PROBE], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["0", "0", "True"], result.stdout
