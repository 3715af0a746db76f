"""Compiler core: static inference vs execution, MACs vs torch's own counter, Python API."""
from __future__ import annotations

import functools

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import graphspec
from graphspec import registry
from graphspec.compiler.infer import TensorType, annotate_state, infer
from graphspec.compiler.ir import assign_paths, lint
from graphspec.compiler.pipeline import compile_spec
from graphspec.compiler.template import expand_node
from graphspec.models.resnet import create_res_block, create_resnet
from graphspec.models.stem import create_res_basic_stem
from graphspec.ops.torch_ops import TORCH_OPS

from conftest import ROOT

# One example call per torch primitive: (args, input shape). Rules as data, tested as data.
PRIMITIVE_CASES = {
    "Conv1d": (dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1), (2, 4, 9)),
    "Conv2d": (dict(in_channels=4, out_channels=6, kernel_size=(3, 1), groups=2, bias=False), (2, 4, 7, 5)),
    "Conv3d": (dict(in_channels=4, out_channels=8, kernel_size=(3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1),
                    dilation=(2, 1, 1)), (2, 4, 6, 9, 9)),
    "MaxPool1d": (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 3, 10)),
    "MaxPool2d": (dict(kernel_size=3, stride=2, dilation=2), (2, 3, 11, 12)),
    "MaxPool3d": (dict(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), (2, 3, 4, 9, 9)),
    "AvgPool1d": (dict(kernel_size=2), (2, 3, 9)),
    "AvgPool2d": (dict(kernel_size=3, stride=1, padding=1), (2, 3, 5, 5)),
    "AvgPool3d": (dict(kernel_size=(2, 7, 7), stride=(1, 1, 1)), (2, 3, 4, 7, 9)),
    "AdaptiveAvgPool1d": (dict(output_size=2), (2, 3, 9)),
    "AdaptiveAvgPool2d": (dict(output_size=(1, None)), (2, 3, 5, 6)),
    "AdaptiveAvgPool3d": (dict(output_size=1), (2, 3, 4, 5, 6)),
    "AdaptiveMaxPool1d": (dict(output_size=3), (2, 3, 9)),
    "AdaptiveMaxPool2d": (dict(output_size=2), (2, 3, 5, 6)),
    "AdaptiveMaxPool3d": (dict(output_size=(1, 2, 2)), (2, 3, 4, 5, 6)),
    "BatchNorm1d": (dict(num_features=3), (2, 3, 5)),
    "BatchNorm2d": (dict(num_features=3, affine=False), (2, 3, 5, 5)),
    "BatchNorm3d": (dict(num_features=3, track_running_stats=False), (2, 3, 2, 5, 5)),
    "LayerNorm": (dict(normalized_shape=[5]), (2, 3, 5)),
    "Linear": (dict(in_features=5, out_features=7), (2, 3, 5)),
    "Softmax": (dict(dim=1), (2, 3, 5)),
    "LogSoftmax": (dict(dim=1), (2, 3, 5)),
    "Dropout": (dict(p=0.3), (2, 3, 5)),
    "LeakyReLU": (dict(negative_slope=0.2), (2, 3, 5)),
}


@pytest.mark.parametrize("name", sorted(TORCH_OPS))
def test_primitive_rules_match_torch(name):
    args, shape = PRIMITIVE_CASES.get(name, ({}, (2, 3, 4, 5)))
    node = assign_paths(expand_node(name, args))
    out = infer(node, TensorType(shape))
    state = annotate_state(node)
    module = TORCH_OPS[name][0](**args)
    got = module(torch.randn(shape))
    assert out.shape == tuple(got.shape)
    assert {k: s for k, _, s, _ in state} == {k: tuple(v.shape) for k, v in module.state_dict().items()}
    assert node.meta["params"] == sum(p.numel() for p in module.parameters())
    if name.startswith(("Conv", "Linear")):  # torch counts 2 FLOPs per multiply-add
        with FlopCounterMode(display=False) as counter:
            module(torch.randn(shape))
        assert node.meta["macs"] * shape[0] == counter.get_total_flops() // 2


def test_every_primitive_has_a_case():
    assert set(PRIMITIVE_CASES) <= set(TORCH_OPS)


@pytest.mark.parametrize("op", [o.name for o in registry.ops() if o.kind in ("module", "graph")])
def test_every_module_op_has_a_shape_rule_and_a_schema(op):
    opdef = registry.get(op)
    assert opdef.infer is not None, f"{op} has no static shape rule"
    _defaults_are_valid(opdef)


@pytest.mark.parametrize("op", [o.name for o in registry.ops() if o.kind not in ("module", "graph")])
def test_every_other_op_accepts_its_own_defaults(op):
    _defaults_are_valid(registry.get(op))


@functools.cache
def _op_schemas() -> dict:
    return registry.json_schema()


def _defaults_are_valid(opdef):
    """A default of the Python signature is a documented value (torch's ``AvgPool1d(stride=None)``,
    AugMix's ``depth=-1``): validation and the schema generated from the same model accept it."""
    import jsonschema

    schema = _op_schemas()
    properties = schema["ops"][opdef.name]["properties"]
    for spec in opdef.args.values():
        if spec.required or spec.component or spec.component_list or "default" not in properties[spec.name]:
            continue
        value = properties[spec.name]["default"]
        spec.validate(value)
        validator = jsonschema.Draft202012Validator({**properties[spec.name], "$defs": schema["$defs"]})
        assert validator.is_valid(value), f"{opdef.name}.{spec.name}: the schema refuses its default {value!r}"


@pytest.mark.parametrize("spec", ["specs/models/slow_r50.yaml", "specs/models/c2d_r50.yaml"])
def test_macs_equal_torch_flop_counter_plus_batch_norm(spec):
    """Static MACs = torch's conv/linear FLOPs / 2 + batch norm's 2 per element (fvcore's rule)."""
    compiled = compile_spec(ROOT / spec, ["inputs.video=[1, 3, 8, 96, 96]", "model.head_pool_kernel_size=[2, 3, 3]",
                                          "expect=null"])
    bn = sum(n.meta["macs"] for n in compiled.nodes if n.op == "BatchNorm3d")
    model = compiled.lower().eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 8, 96, 96))
    assert compiled.macs - bn == counter.get_total_flops() // 2


def test_res_block_matches_plain_torch():
    torch.manual_seed(0)
    block = create_res_block(dim_in=4, dim_inner=2, dim_out=6, bottleneck=graphspec.models.create_bottleneck_block,
                             conv_a_stride=(1, 1, 1), conv_b_stride=(1, 2, 2)).eval()
    for m in block.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2), m.weight.data.uniform_(0.5, 2)
    x = torch.randn(2, 4, 3, 8, 8)
    b = block.branch2

    def bn(m, y):
        return F.batch_norm(y, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)

    y = F.relu(bn(b.norm_a, F.conv3d(x, b.conv_a.weight, padding=(1, 0, 0))))
    y = F.relu(bn(b.norm_b, F.conv3d(y, b.conv_b.weight, stride=(1, 2, 2), padding=(0, 1, 1))))
    y = bn(b.norm_c, F.conv3d(y, b.conv_c.weight))
    shortcut = bn(block.branch1_norm, F.conv3d(x, block.branch1_conv.weight, stride=(1, 2, 2)))
    torch.testing.assert_close(block(x), F.relu(shortcut + y))


def test_python_api_accepts_pytorchvideo_callables():
    class MinPool(nn.Module):  # the docs' "YourFancyPool": an unregistered user class
        def __init__(self, kernel_size, stride, padding):
            super().__init__()
            self.pool = nn.MaxPool3d(kernel_size, stride, padding)

        def forward(self, x):
            return -self.pool(-x)

    stem = create_res_basic_stem(in_channels=3, out_channels=8, pool=MinPool,
                                 norm=functools.partial(nn.BatchNorm3d, momentum=0.01))
    assert isinstance(stem.pool, MinPool) and stem.norm.momentum == 0.01
    node = assign_paths(expand_node("create_res_basic_stem", dict(in_channels=3, out_channels=8, pool=MinPool)))
    out = infer(node, TensorType(("B", 3, 4, 32, 32)))
    assert out.shape == ("B", 8, 4, 8, 8)
    assert node.args["pool"].meta["inferred_by"] == "meta-execution"


def test_builders_keep_pytorchvideo_signatures():
    import inspect

    sig = inspect.signature(create_resnet)
    assert sig.parameters["norm"].default is nn.BatchNorm3d
    assert sig.parameters["head_pool_kernel_size"].default == (4, 7, 7)
    assert all(p.kind == p.KEYWORD_ONLY for p in sig.parameters.values())
    with pytest.raises(TypeError, match="keyword"):
        create_resnet(3)


def test_lint_reports_broken_trees():
    node = assign_paths(expand_node("create_res_basic_stem", dict(in_channels=3, out_channels=8)))
    assert lint(node) == []
    node.args["conv"].args["bogus"] = 1
    node.args["pool"] = node.args["conv"]  # one module cannot have two parents
    messages = " ".join(d.message for d in lint(assign_paths(node)))
    assert "no argument 'bogus'" in messages and "appears twice" in messages


def test_shape_error_names_the_ir_path_and_the_spec_key():
    compiled = compile_spec(ROOT / "specs/models/slow_r50.yaml", ["inputs.video=[B, 3, 4, 224, 224]"])
    (diag,) = compiled.diagnostics
    assert "blocks.5.pool" in diag.message and diag.dotted == "model.head_pool_kernel_size"
    assert diag.location.file.endswith("slow_r50.yaml") and diag.location.line == 11


def test_explicit_graph_example_validates_builds_and_runs():
    compiled = compile_spec(ROOT / "examples/two_stream.yaml")
    assert compiled.diagnostics == []
    model = compiled.lower().eval()
    out = model(torch.randn(2, 3, 8, 112, 112), flow=torch.randn(2, 2, 8, 112, 112))
    assert out.shape == (2, 10)
    keys = set(model.state_dict())
    assert "rgb_stem.conv.weight" in keys and "head.proj.weight" in keys
    assert {k for k, *_ in compiled.state} == keys


def test_symbolic_dims_propagate():
    node = assign_paths(expand_node("Conv3d", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2)))
    out = infer(node, TensorType(("B", 3, "T", 16, 16)))
    assert out.shape == ("B", 4, "(T-3)//2+1", 7, 7)  # (T + 2*0 - 3) // 2 + 1, torch's formula
    assert node.meta["macs"] is None  # unknown T: MACs cannot be counted
    same = assign_paths(expand_node("Conv3d", dict(in_channels=3, out_channels=4, kernel_size=3, padding=1)))
    assert infer(same, TensorType(("B", 3, "T", 16, 16))).shape == ("B", 4, "T", 16, 16)  # (T-1)//1+1 is T


def test_symbolic_windows_in_a_row_simplify_and_equal_torch():
    """A stride-2 conv then a stride-2 pool over symbolic H: one short expression, equal to the
    shape torch computes for every concrete H."""
    stem = assign_paths(expand_node("create_res_basic_stem", dict(in_channels=3, out_channels=4)))
    height = infer(stem, TensorType(("B", 3, "T", "H", 8))).shape[3]
    assert height == "(H-1)//4+1"
    torch_stem = nn.Sequential(nn.Conv3d(3, 1, (3, 7, 7), (1, 2, 2), (1, 3, 3)), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
    for size in range(1, 40):
        assert eval(height, {"H": size}) == torch_stem(torch.zeros(1, 3, 1, size, 8, device="meta")).shape[3]


def test_readme_example_inherits_and_checks():
    compiled = compile_spec(ROOT / "examples/slow_r50_ssv2.yaml")
    assert compiled.diagnostics == []
    assert compiled.params == 32454096 - (2048 * 400 + 400) + (2048 * 174 + 174)


# ---- the one IR, and specs that must work or fail cleanly ---------------------------------------
def _spec(tmp_path, body: str, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text("graphspec: 1\nkind: model\nname: t\n" + body)
    return path


def _meta_forward(compiled):
    """The lowered module run on the meta device on the declared inputs, in the graph's call form."""
    from conftest import meta_tensor

    with torch.device("meta"):
        model = compiled.lower()
    step = compiled.graph.steps[0]
    values = [meta_tensor(v) for v in compiled.inputs.values()]
    if compiled.graph.single:
        return model(values) if step.call == "list" else model(*values)
    return model(*values)


def test_both_spec_forms_are_one_graph():
    model_form = compile_spec(ROOT / "specs/models/slow_r50.yaml")
    graph_form = compile_spec(ROOT / "examples/two_stream.yaml")
    assert model_form.graph.single and [s.name for s in model_form.graph.steps] == ["model"]
    assert model_form.graph.steps[0].node.path == ""  # the model's own module tree: keys blocks.0...
    assert [s.name for s in graph_form.graph.steps] == ["rgb_stem", "flow_stem", "fuse", "stage", "head"]
    assert graph_form.graph.steps[2].inputs == ["rgb_stem", "flow_stem"]
    for compiled in (model_form, graph_form):
        assert compiled.nodes == list(compiled.graph.walk())
        assert all(n.path.startswith(s.name) or compiled.graph.single
                   for s in compiled.graph.steps for n in s.node.walk())


def test_named_inputs_feed_a_multipathway_model_in_declared_order(tmp_path):
    body = "model: {op: create_slowfast}\nexpect: {outputs: {logits: [B, 400]}}\ninputs:\n"
    compiled = compile_spec(_spec(tmp_path, body + "  slow: [B, 3, 8, 224, 224]\n  fast: [B, 3, 32, 224, 224]\n"))
    assert compiled.diagnostics == []
    assert compiled.graph.steps[0].inputs == ["slow", "fast"] and compiled.graph.steps[0].call == "list"
    reference = compile_spec(ROOT / "specs/models/base/slowfast.yaml")  # inputs: {video: {slow: ..., fast: ...}}
    assert [k for k, *_ in compiled.state] == [k for k, *_ in reference.state]  # the same model as {video: {...}}
    assert tuple(_meta_forward(compiled).shape) == (2, 400)
    swapped = compile_spec(_spec(tmp_path, body + "  fast: [B, 3, 32, 224, 224]\n  slow: [B, 3, 8, 224, 224]\n"))
    assert [d.code for d in swapped.diagnostics] == ["shape"]  # declared order is pathway order


def test_a_one_input_model_given_two_inputs_is_a_located_error(tmp_path):
    path = _spec(tmp_path, "inputs:\n  video: [B, 3, 8, 64, 64]\n  extra: [B, 3, 8, 64, 64]\n"
                           "model: {op: create_res_basic_stem, in_channels: 3, out_channels: 8}\n")
    (diag,) = compile_spec(path).diagnostics
    assert diag.dotted == "inputs" and diag.location.line == 4
    assert "takes 1 input, got 2 (video, extra)" in diag.message


def test_graph_nodes_run_in_dependency_order_not_spec_order(tmp_path):
    path = _spec(tmp_path, "inputs: {x: [B, 3, 4, 16, 16]}\nnodes:\n"
                           "  head: {op: create_res_basic_head, in: stem, in_features: 8, out_features: 5, "
                           "pool: AdaptiveAvgPool3d}\n"
                           "  stem: {op: create_res_basic_stem, in: x, in_channels: 3, out_channels: 8}\n"
                           "outputs: {logits: head}\n")
    compiled = compile_spec(path)
    assert compiled.diagnostics == [] and [s.name for s in compiled.graph.steps] == ["stem", "head"]
    out = compiled.lower()(torch.randn(2, 3, 4, 16, 16))
    assert out.shape == (2, 5)


def test_null_in_a_component_list_keeps_indices_or_is_refused(tmp_path):
    stem = "{op: create_res_basic_stem, in_channels: 3, out_channels: 8}"
    refused = compile_spec(_spec(tmp_path, f"inputs: {{x: [B, 3, 4, 16, 16]}}\nmodel:\n  op: Net\n  blocks:\n"
                                           f"    - {stem}\n    - null\n", "net.yaml"))
    (diag,) = refused.diagnostics
    assert diag.dotted == "model.blocks[1]" and "null" in diag.message
    kept = compile_spec(_spec(tmp_path, f"inputs: {{slow: [B, 3, 4, 16, 16], fast: [B, 3, 4, 16, 16]}}\n"
                                        f"model:\n  op: Net\n  blocks:\n    - op: MultiPathWayWithFuse\n"
                                        f"      multipathway_blocks: [null, {stem}]\noutputs: [slow, fast]\n"))
    assert kept.diagnostics == []
    with torch.device("meta"):
        model = kept.lower()
    assert list(model.state_dict()) == [k for k, *_ in kept.state]
    assert "blocks.0.multipathway_blocks.1.conv.weight" in model.state_dict()
    slow, fast = _meta_forward(kept)
    assert [tuple(slow.shape), tuple(fast.shape)] == [(2, *kept.outputs["slow"].shape[1:]),
                                                       (2, *kept.outputs["fast"].shape[1:])]


def test_a_symbol_in_expect_binds_to_the_batch():
    slow = ROOT / "specs/models/slow_r50.yaml"
    assert compile_spec(slow, ["inputs.video=[1, 3, 8, 224, 224]"]).diagnostics == []
    (diag,) = compile_spec(slow, ["inputs.video=[1, 3, 8, 224, 224]", "expect.outputs.logits=[B, 401]"]).diagnostics
    assert diag.dotted == "expect.outputs.logits"
    # a symbol the inputs use means itself: B of the inputs is not the 2 of an expected [2, 400]
    assert compile_spec(slow, ["expect.outputs.logits=[2, 400]"]).diagnostics[0].dotted == "expect.outputs.logits"


def test_symbolic_clip_sizes_validate_and_print_short():
    slow = ROOT / "specs/models/slow_r50.yaml"
    compiled = compile_spec(slow, ["inputs.video=[B, 3, T, H, W]", "expect.macs=null"])
    # only the least sizes the head pool needs (tests/test_symbolic_sizes.py holds them against torch)
    assert {(d.severity, d.code) for d in compiled.diagnostics} == {("warning", "symbolic")}
    assert compiled.ok and compiled.outputs["logits"].shape == ("B", 400)
    stem = next(n for n in compiled.nodes if n.path == "blocks.0.conv")
    assert stem.meta["output"].shape == ("B", 64, "T", "(H-1)//2+1", "(W-1)//2+1")  # torch: (H+2*3-7)//2+1
    (diag,) = compile_spec(slow, ["inputs.video=[B, 3, T, H]"]).diagnostics
    assert "TensorType" not in diag.message and "[B, 3, T, H]" in diag.message


@pytest.mark.parametrize("override, key", [
    ("model.model_num_class=true", "model.model_num_class"),  # true is not 1 class
    ('model.model_num_class="64"', "model.model_num_class"),  # "64" is not 64
    ("model.model_num_class=0", "model.model_num_class"),
    ("model.stem_dim_out=0", "model.stem_dim_out"),
    ("model.head_pool_kernel_size=[8, 0, 7]", "model.head_pool_kernel_size[1]"),
    ("model.dropout_rate=true", "model.dropout_rate"),
    ("model.norm={op: BatchNorm3d, eps: -1.0}", "model.norm.eps"),
    ("inputs.video=[B, 3, 0, 224, 224]", "inputs.video[2]"),
    ("inputs.video=[B, 3, 8, 224, -1]", "inputs.video[4]"),
])
def test_ranges_and_types_are_checked_statically(override, key):
    try:
        found = compile_spec(ROOT / "specs/models/slow_r50.yaml", [override]).diagnostics
    except graphspec.SpecError as err:
        found = err.diagnostics
    assert [d.dotted for d in found if d.severity == "error"] == [key]


def test_concat_dim_must_be_within_the_rank(tmp_path):
    body = "inputs: {a: [B, 3, 4], b: [B, 3, 4]}\nnodes:\n  c: {op: Concat, dim: DIM, in: [a, b]}\noutputs: {y: c}\n"
    (diag,) = compile_spec(_spec(tmp_path, body.replace("DIM", "3"))).diagnostics
    assert diag.dotted == "nodes.c.dim" and "out of range" in diag.message
    compiled = compile_spec(_spec(tmp_path, body.replace("DIM", "-1")))  # torch's negative dims count from the end
    assert compiled.outputs["y"].shape == ("B", 3, 8)
    assert compiled.lower()(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)).shape == (2, 3, 8)


def test_an_absurd_size_is_a_finding_before_anything_is_allocated():
    # the head alone: (2048 + 1) * 10**11 float32 = 745.4 TiB, found from the static layout
    (diag,) = compile_spec(ROOT / "specs/models/slow_r50.yaml", ["model.model_num_class=100000000000"]).diagnostics
    assert diag.code == "size" and "blocks.5.proj" in diag.message and "745.4 TiB" in diag.message
    wide = compile_spec(ROOT / "specs/models/slow_r50.yaml", ["inputs.video=[100000, 3, 8, 224, 224]"]).diagnostics
    assert [d.code for d in wide] == ["size"]  # the stem's output alone: 100000 x 64 x 8 x 112 x 112 floats


@pytest.mark.parametrize("error", [KeyError, ValueError, TypeError, AssertionError, NotImplementedError])
def test_a_builder_rejecting_its_arguments_is_the_same_located_finding_in_both_forms(tmp_path, capsys, error):
    """A builder that looks its argument up in a table (KeyError), or raises as PyTorchVideo's
    builders do, is a finding at its key under model: as under nodes: -- never exit 3."""
    from graphspec.cli import main

    def pick_norm(*, norm: str = "batch"):
        raise error(norm) if error is not KeyError else {"batch": None}[norm]

    model_form = _spec(tmp_path, "inputs: {x: [B, 3, 4, 8, 8]}\nmodel:\n  op: pick_norm\n  norm: group\n",
                       "model.yaml")
    graph_form = _spec(tmp_path, "inputs: {x: [B, 3, 4, 8, 8]}\nnodes:\n  n:\n    op: pick_norm\n"
                       "    norm: group\n    in: x\noutputs: {y: n}\n", "graph.yaml")
    with registry.scoped():
        graphspec.register(pick_norm, kind="builder")
        (at_model,) = graphspec.check(model_form)
        (at_node,) = graphspec.check(graph_form)
        codes = [main(["validate", str(path)]) for path in (model_form, graph_form)]
    printed = capsys.readouterr()
    assert codes == [1, 1] and "internal error" not in printed.out + printed.err
    assert (at_model.code, at_model.message) == (at_node.code, at_node.message) == ("build", at_model.message)
    assert "group" in at_model.message
    assert (at_model.dotted, at_model.location.line) == ("model", 5)
    assert (at_node.dotted, at_node.location.line) == ("nodes.n", 6)
