"""Spec sources: safe YAML loading, locations, extends chains, --set overrides, dumping."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from graphspec.spec.errors import Location, SpecError
from graphspec.spec.source import (
    OVERRIDE_FILE,
    SourceMap,
    apply_overrides,
    load_document,
    load_text,
    load_yaml,
    parse_override,
    yaml_dump,
)

BAD_SPECS = Path(__file__).parent / "bad_specs"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def errors(text: str, file: str = "s.yaml") -> list:
    with pytest.raises(SpecError) as info:
        load_text(text, file)
    assert info.value.exit_code == 2
    return info.value.diagnostics


def where(diag) -> tuple:
    return diag.location.line, diag.location.col


# --------------------------------------------------------------------------- locations


def test_positions_of_nested_keys_and_list_items():
    text = (
        "model:\n"
        "  name: x3d\n"
        "  kernel: [3, 1, 1]\n"
        "  stages:\n"
        "    - depth: 2\n"
        "      act: relu\n"
        "    -   depth: 5\n"
    )
    data, smap = load_text(text, "m.yaml")
    assert data["model"]["stages"][1] == {"depth": 5}
    assert smap.get(("model",)) == Location("m.yaml", 1, 1)
    assert smap.get(("model", "kernel")) == Location("m.yaml", 3, 3)
    assert smap.get(("model", "kernel", 2)) == Location("m.yaml", 3, 18)
    assert smap.get(("model", "stages", 0)) == Location("m.yaml", 5, 7)
    assert smap.get(("model", "stages", 0, "act")) == Location("m.yaml", 6, 7)
    assert smap.get(("model", "stages", 1)) == Location("m.yaml", 7, 9)


def test_locate_falls_back_to_ancestor_then_file_start():
    _, smap = load_text("a:\n  b: 1\n", "f.yaml")
    assert smap.locate(("a", "b", "missing", 3)) == Location("f.yaml", 2, 3)
    assert smap.locate(("zzz",)) == Location("f.yaml", 1, 1)
    assert SourceMap("g.yaml").locate(()) == Location("g.yaml", 1, 1)


def test_plain_data_only_and_core_tags_accepted():
    data, _ = load_text(
        "s: !!str 12\ni: !!int '3'\nf: !!float 1\nb: !!bool true\nn: !!null ''\n"
        "m: !!map {a: 1}\nl: !!seq [1]\nd: 2020-01-01\neq: =\nx: 1e-3\n", "t.yaml")
    assert data == {"s": "12", "i": 3, "f": 1.0, "b": True, "n": None, "m": {"a": 1},
                    "l": [1], "d": "2020-01-01", "eq": "=", "x": 1e-3}


# --------------------------------------------------------------------------- rejections


def test_syntax_error_is_located():
    [d] = errors("model:\n  name: a: b\n")
    assert where(d) == (2, 10) and "invalid YAML" in d.message


def test_tab_indentation_has_clear_message():
    [d] = errors("model:\n  a: 1\n\tb: 2\n")
    assert where(d) == (3, 1)
    assert d.message == "tab character used for indentation; use spaces"


def test_all_duplicates_and_bad_tags_reported_together():
    diags = errors(
        "a: 1\n"
        "b:\n"
        "  x: 1\n"
        "  x: 2\n"
        "a: 3\n"
        "c: !!python/name:os.system\n"
        "d: !custom x\n"
    )
    assert [(where(d), d.path) for d in diags] == [
        ((4, 3), ("b", "x")),
        ((5, 1), ("a",)),
        ((6, 4), ("c",)),
        ((7, 4), ("d",)),
    ]
    assert "duplicate key 'x' (first defined at line 3)" in diags[0].message
    assert "first defined at line 1" in diags[1].message
    assert "'!!python/name:os.system' is not allowed" in diags[2].message
    assert "'!custom' is not allowed" in diags[3].message


@pytest.mark.parametrize("value", [
    "!!python/object:os.system {}",
    "!!python/object/apply:os.system ['ls']",
    "!!binary aGk=",
    "!!set {a}",
    "!!timestamp 2020-01-01",
    "!mine [1]",
])
def test_non_core_tags_rejected(value):
    [d] = errors(f"a:\n  b: {value}\n")
    assert where(d) == (2, 6) and d.path == ("a", "b") and "is not allowed" in d.message


def test_invalid_explicit_scalar():
    [d] = errors("a: !!int abc\n")
    assert where(d) == (1, 4) and d.message == "invalid !!int value 'abc'"


def test_non_string_key():
    [d] = errors("a:\n  true: 1\n")
    assert where(d) == (2, 3) and "must be a string" in d.message


def test_small_aliases_work_and_are_independent_copies():
    data, smap = load_text("base: &b {depth: 2, k: [1, 3]}\nx: *b\ny:\n  <<: *b\n  depth: 5\n",
                           "a.yaml")
    assert data["x"] == {"depth": 2, "k": [1, 3]}
    assert data["y"] == {"depth": 5, "k": [1, 3]}
    data["x"]["k"].append(9)
    assert data["base"]["k"] == [1, 3]
    assert smap.get(("y", "depth")) == Location("a.yaml", 5, 3)
    assert smap.get(("y", "k")) == Location("a.yaml", 1, 21)


def test_alias_bomb_rejected_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 30)]
    [d] = errors("\n".join(lines) + "\n")  # 10**30 nodes if expanded: refused from the shared graph
    assert "alias bomb" in d.message and where(d) == (5, 5)


def test_recursive_alias_rejected():
    [d] = errors("a: &x [1, *x]\n")
    assert "recursive alias" in d.message and where(d) == (1, 4)


@pytest.mark.parametrize("text, message, pos", [
    ("", "empty spec file", (1, 1)),
    ("# nothing\n\n", "empty spec file", (1, 1)),
    ("- 1\n", "must be a mapping of keys, got a list", (1, 1)),
    ("\n'text'\n", "must be a mapping of keys, got a single value", (2, 1)),
    ("a: 1\n---\nb: 2\n", "multiple YAML documents", (2, 1)),
    ("a: \x07\n", "character U+0007 is not allowed", (1, 4)),
    ("a: 1\nb:\n  c: " + "[" * 800 + "]" * 800 + "\n", "nested too deeply (more than 200 levels here", (3, 204)),
], ids=["empty", "comments-only", "list", "scalar", "two-documents", "control-char", "deep"])
def test_unusable_documents(text, message, pos):
    [d] = errors(text)
    assert message in d.message and where(d) == pos


def test_unreadable_files(tmp_path):
    for path, message in [(tmp_path / "nope.yaml", "file not found"),
                          (tmp_path, "is a directory")]:
        with pytest.raises(SpecError) as info:
            load_yaml(path)
        [d] = info.value.diagnostics
        assert message in d.message and d.location == Location(str(path), 1, 1)
        assert info.value.exit_code == 2


def test_not_utf8_is_located(tmp_path):
    path = write(tmp_path, "x.yaml", b"a: 1\nb: \xc3\xa9t\xe9\n")
    with pytest.raises(SpecError) as info:
        load_yaml(path)
    [d] = info.value.diagnostics
    assert where(d) == (2, 6) and "not valid UTF-8" in d.message


# --------------------------------------------------------------------------- extends


@pytest.fixture
def chain(tmp_path):
    write(tmp_path, "base/grand.yaml",
          "model:\n  name: x3d\n  depth: [1, 2, 3]\n  head:\n    dropout: 0.5\n    act: relu\n"
          "train: {lr: 0.1}\n")
    write(tmp_path, "base/parent.yaml",
          "# parent\nextends: grand.yaml\nmodel:\n  depth: [4, 5]\n  head:\n    act: null\n")
    return write(tmp_path, "child.yaml",
                 "extends: base/parent.yaml\nmodel:\n  width: 2\n  head: {dropout: 0.2}\n"
                 "train: null\n")


def test_extends_three_levels(chain, tmp_path):
    data, smap = load_document(chain)
    assert data == {"model": {"name": "x3d", "depth": [4, 5], "head": {"dropout": 0.2},
                              "width": 2}}
    grand, parent = str(tmp_path / "base/grand.yaml"), str(tmp_path / "base/parent.yaml")
    assert smap.get(("model", "name")) == Location(grand, 2, 3)
    assert smap.get(("model", "depth")) == Location(parent, 4, 3)
    assert smap.get(("model", "depth", 1)) == Location(parent, 4, 14)
    assert ("model", "depth", 2) not in smap  # the replaced list left no stale entries
    assert smap.get(("model", "head", "dropout")) == Location(str(chain), 4, 10)
    assert ("train",) not in smap and smap.file == str(chain)


def test_extends_list_applies_parents_in_order(tmp_path):
    write(tmp_path, "a.yaml", "x: 1\ny: 1\nz: null\n")
    write(tmp_path, "b.yaml", "y: 2\n")
    data, _ = load_document(write(tmp_path, "c.yaml", "extends: [a.yaml, b.yaml]\nw: 3\n"))
    assert data == {"x": 1, "y": 2, "z": None, "w": 3}  # the first parent's own null stays


def test_extends_cycle_reported_with_chain(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\nx: 1\n")
    b = write(tmp_path, "b.yaml", "y: 1\nextends: a.yaml\n")
    with pytest.raises(SpecError) as info:
        load_document(a)
    [d] = info.value.diagnostics
    assert d.location == Location(str(b), 2, 1) and d.path == ("extends",)
    assert d.message == f"extends cycle: {a} -> {b} -> {a}"
    with pytest.raises(SpecError, match=r"self\.yaml -> .*self\.yaml"):
        load_document(write(tmp_path, "self.yaml", "extends: self.yaml\n"))


def test_extends_missing_parent_located_at_extends(tmp_path):
    path = write(tmp_path, "c.yaml", "x: 1\nextends:\n  - ok.yaml\n  - gone.yaml\n")
    write(tmp_path, "ok.yaml", "y: 1\n")
    with pytest.raises(SpecError) as info:
        load_document(path)
    [d] = info.value.diagnostics
    assert d.location == Location(str(path), 4, 5) and d.path == ("extends", 1)
    assert "file not found" in d.message and info.value.exit_code == 2


def test_extends_must_be_paths(tmp_path):
    with pytest.raises(SpecError, match="extends must be a file path"):
        load_document(write(tmp_path, "c.yaml", "x: 1\nextends: {a: 1}\n"))


def test_errors_in_parent_and_child_all_reported_in_their_files(tmp_path):
    parent = write(tmp_path, "p.yaml", "a: 1\na: 2\nb: !custom 1\n")
    child = write(tmp_path, "c.yaml", "extends: p.yaml\nc: 1\nc: 2\n")
    with pytest.raises(SpecError) as info:
        load_document(child)
    assert [(d.location, d.path) for d in info.value.diagnostics] == [
        (Location(str(child), 3, 1), ("c",)),
        (Location(str(parent), 2, 1), ("a",)),
        (Location(str(parent), 3, 4), ("b",)),
    ]


# --------------------------------------------------------------------------- overrides


@pytest.mark.parametrize("text, path, value", [
    ("a.b=3", ("a", "b"), 3),
    ("model.kernel[2]=[3,1,1]", ("model", "kernel", 2), [3, 1, 1]),
    ("a.b.2.c = {op: ReLU}", ("a", "b", 2, "c"), {"op": "ReLU"}),
    ("lr=1e-3", ("lr",), 1e-3),
    ("flag=true", ("flag",), True),
    ("name=a=b", ("name",), "a=b"),
])
def test_parse_override(text, path, value):
    assert parse_override(text) == (path, value)


@pytest.fixture
def doc(tmp_path):
    return write(tmp_path, "s.yaml",
                 "model:\n  depth: 50\n  kernel: [[1, 3, 3], [3, 3, 3]]\n  head: {act: relu}\n")


def test_overrides_set_values_and_locations(doc):
    data, smap = load_document(doc, ["model.depth=101", "model.kernel[1]=[5, 1, 1]",
                                     "model.head.dropout=0.3", "model.head={act: gelu}"])
    assert data["model"] == {"depth": 101, "kernel": [[1, 3, 3], [5, 1, 1]],
                             "head": {"act": "gelu"}}
    assert smap.get(("model", "depth")) == Location(OVERRIDE_FILE, 1, 1)
    assert smap.get(("model", "kernel", 1)) == Location(OVERRIDE_FILE, 2, 1)
    assert smap.get(("model", "kernel", 1, 2)) == Location(OVERRIDE_FILE, 2, 24)
    assert smap.get(("model", "head", "act")) == Location(OVERRIDE_FILE, 4, 13)
    assert ("model", "head", "dropout") not in smap  # replaced by the later mapping
    assert smap.get(("model", "kernel", 0)).file == str(doc)


@pytest.mark.parametrize("override, message, hint", [
    ("model.dpeth.x=1", "no key 'dpeth' in 'model'", "did you mean 'depth'?"),
    ("modle.depth=1", "no key 'modle' in the top level", "did you mean 'model'?"),
    ("model.kernel[2][0]=1", "index 2 is out of range; 'model.kernel' has 2 items", None),
    ("model.kernel.x=1", "'model.kernel' is a list; index it as [N]", None),
    ("model.depth.x=1", "'model.depth' is an integer, not a mapping or list", None),
])
def test_unknown_override_paths(doc, override, message, hint):
    with pytest.raises(SpecError) as info:
        load_document(doc, [override])
    [d] = info.value.diagnostics
    assert d.message == f"unknown --set path: {message}" and d.hint == hint
    assert d.location == Location(OVERRIDE_FILE, 1, 1) and info.value.exit_code == 2


def test_override_creates_a_mapping_the_spec_leaves_out(doc):
    """``--set prepare.output.crf=18`` on a spec without ``prepare:``: the missing mappings are
    made, located at the override (the schema judges their keys there)."""
    data, smap = load_document(doc, ["prepare.output.crf=18", "model.head.norm.eps=0.1"])
    assert data["prepare"] == {"output": {"crf": 18}}
    assert data["model"]["head"] == {"act": "relu", "norm": {"eps": 0.1}}
    assert smap.get(("prepare",)) == smap.get(("prepare", "output", "crf")) == Location(OVERRIDE_FILE, 1, 1)
    assert smap.get(("model", "head", "norm")) == Location(OVERRIDE_FILE, 2, 1)


@pytest.mark.parametrize("text, override, message", [
    ("inputs: {video: [B, 3, 8, 32, 32]}\n", "inputs.vidoe=[1]", "no input 'vidoe' in 'inputs'"),
    ("input: {video: any}\n", "input.vidoe=any", "no clip key 'vidoe' in 'input'"),
    ("transform: {input: {video: any}}\n", "transform.input.vidoe=any", "no clip key 'vidoe' in 'transform.input'"),
    ("nodes: {stem: {op: Identity}}\n", "nodes.steem.in=x", "no node 'steem' in 'nodes'"),
])
def test_override_adds_no_declared_name(tmp_path, text, override, message):
    """A typo in a clip key, model input or node name would add a key no op reads: refused with
    the nearest declared name."""
    with pytest.raises(SpecError) as info:
        load_document(write(tmp_path, "s.yaml", text), [override])
    [d] = info.value.diagnostics
    assert message in d.message and "did you mean" in d.hint and info.value.exit_code == 2


def test_override_changes_fields_below_a_declared_name(tmp_path):
    path = write(tmp_path, "s.yaml", "input: {video: {shape: [3, T, H, W]}}\n")
    data, _ = load_document(path, ["input.video.layout=TCHW"])
    assert data["input"]["video"] == {"shape": [3, "T", "H", "W"], "layout": "TCHW"}


@pytest.mark.parametrize("override, message, col", [
    ("model.depth", "expected PATH=VALUE", 1),
    (" =1", "empty path", 1),
    ("model..depth=1", "malformed --set path", 6),
    ("model.kernel[x]=1", "malformed --set path", 13),
    ("model.depth=", "value is empty", 13),
    ("model.depth=[1,", "invalid YAML", 16),
    ("model.depth=!!python/name:os.system", "is not allowed", 13),
])
def test_malformed_overrides(override, message, col):
    with pytest.raises(SpecError) as info:
        parse_override(override)
    [d] = info.value.diagnostics
    assert message in d.message and d.location == Location(OVERRIDE_FILE, 1, col)
    assert info.value.exit_code == 2


def test_all_override_errors_reported_at_once(doc):
    data, smap = load_yaml(doc)
    with pytest.raises(SpecError) as info:
        apply_overrides(data, smap, ["nokey", "model.depth=2", "modl.y=1"])
    assert [d.location.line for d in info.value.diagnostics] == [1, 3]


def test_override_syntax_checked_even_when_file_fails(tmp_path):
    path = write(tmp_path, "s.yaml", "a: 1\na: 2\n")
    with pytest.raises(SpecError) as info:
        load_document(path, ["bad"])
    assert [d.location.file for d in info.value.diagnostics] == [str(path), OVERRIDE_FILE]


# --------------------------------------------------------------------------- dumping


def test_yaml_dump_is_readable_and_round_trips():
    data = {"model": {"name": "x3d", "kernel": (1, 7, 7), "stages": [{"depth": 2}, {}],
                      "none": None, "empty": []}}
    text = yaml_dump(data)
    assert text == (
        "model:\n"
        "  name: x3d\n"
        "  kernel: [1, 7, 7]\n"
        "  stages:\n"
        "    - depth: 2\n"
        "    - {}\n"
        "  none: null\n"
        "  empty: []\n"
    )
    assert load_text(text, "d.yaml")[0] == {**data, "model": {**data["model"], "kernel": [1, 7, 7]}}


# --------------------------------------------------------------------------- bad spec files

_EXPECT = re.compile(r"# expect: (?:(?P<file>\S+):)?(?P<line>\d+):(?P<col>\d+) (?P<words>.+)")
#: Files that cannot carry their own ``# expect:`` line.
_SIDECAR = {"yaml_empty.yaml": "1:1 empty spec file"}


@pytest.mark.parametrize("path", sorted(BAD_SPECS.glob("yaml_*.yaml")), ids=lambda p: p.name)
def test_bad_spec_files(path):
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    expect = _EXPECT.fullmatch(_SIDECAR.get(path.name) and "# expect: " + _SIDECAR[path.name]
                               or first)
    assert expect, f"{path.name} lacks a '# expect: [FILE:]LINE:COL words' first line"
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert info.value.exit_code == 2
    d = info.value.diagnostics[0]
    file = os.path.normpath(BAD_SPECS / expect["file"]) if expect["file"] else str(path)
    assert (d.location.file, d.location.line, d.location.col) == (
        file, int(expect["line"]), int(expect["col"]))
    assert expect["words"] in d.message


def test_bad_spec_directory_is_populated():
    assert len(list(BAD_SPECS.glob("yaml_*.yaml"))) >= 12


# ---- the fast (libyaml event) composer -----------------------------------------------------------

def _node_tree(node) -> tuple:
    """A composed node as nested tuples: type, tag, value, start line and column."""
    import yaml

    head = (type(node).__name__, node.tag, node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return head + (node.value,)
    if isinstance(node, yaml.MappingNode):
        return head + (tuple((_node_tree(k), _node_tree(v)) for k, v in node.value),)
    return head + (tuple(_node_tree(v) for v in node.value),)


_COMPOSE_CASES = sorted((Path(__file__).parents[1] / "specs").rglob("*.yaml")) + [
    p for p in sorted(BAD_SPECS.glob("yaml_*.yaml"))
    if p.stem not in ("yaml_not_utf8", "yaml_alias_bomb", "yaml_recursive_alias")]  # trees of those explode


@pytest.mark.parametrize("path", _COMPOSE_CASES, ids=lambda p: p.name)
def test_fast_composer_builds_pyyamls_nodes(path):
    """Our event-stream composer gives the nodes PyYAML's own composer gives (or hands the text to
    it: errors, aliases redefined, deep nesting)."""
    import yaml

    from graphspec.spec import yaml_compose

    text = path.read_text()
    loader = yaml_compose._Loader(text)
    try:
        want = loader.get_single_node()
    except yaml.YAMLError:
        with pytest.raises((yaml_compose._Fallback, yaml.YAMLError)):
            yaml_compose._fast_compose(text)
        return
    finally:
        loader.dispose()
    got = yaml_compose._fast_compose(text)
    assert (got is None) == (want is None)
    if want is not None:
        assert _node_tree(got) == _node_tree(want)


def test_very_deep_nesting_is_refused_without_crashing():
    """libyaml's own composer recurses per level (a segfault at ~100k); ours does not."""
    import subprocess
    import sys

    code = ("from graphspec.spec.source import load_text\nfrom graphspec.spec.errors import SpecError\n"
            "try:\n    load_text('a: ' + '[' * 100000 + ']' * 100000 + '\\n')\n"
            "except SpecError as err:\n    print(err.diagnostics[0].message)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "nested too deeply" in result.stdout


def test_sourcemap_subtree_drop_and_graft_equal_their_definitions():
    """The tree index gives what a scan of every entry gives."""
    import random

    rng = random.Random(0)
    paths = {tuple(rng.choice("abc") if i % 2 == 0 else rng.randrange(3) for i in range(rng.randrange(1, 5)))
             for _ in range(300)}
    entries = {p: Location("f.yaml", n + 1, 1) for n, p in enumerate(sorted(paths, key=str))}
    smap = SourceMap("f.yaml", entries)
    for prefix in [(), ("a",), ("a", 1), ("b", 2, "c"), ("zz",)]:
        n = len(prefix)
        assert smap.subtree(prefix) == {p[n:]: loc for p, loc in entries.items() if p[:n] == prefix}
    smap.drop(("a",))
    assert dict(smap.items()) == {p: loc for p, loc in entries.items() if p[:1] != ("a",)}
    smap.graft(("a",), {(): Location("g.yaml", 1, 1), (0, "x"): Location("g.yaml", 2, 3)})
    assert smap.subtree(("a",)) == {(): Location("g.yaml", 1, 1), (0, "x"): Location("g.yaml", 2, 3)}
    assert len(smap) == len(entries) - sum(1 for p in entries if p[:1] == ("a",)) + 2
