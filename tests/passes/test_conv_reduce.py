from graphspec.mobile.passes import ConvReduceToBranches

from passes_support import run_and_compare, spec_file


def test_conv_reduce_becomes_branches_of_conv3d_nodes(tmp_path):
    graph = run_and_compare(ConvReduceToBranches(), spec_file(tmp_path), [])
    branches = next(n for n in graph.walk() if n.op == "ConvBranches")
    assert [c.op for _, c in branches.children()] == ["Conv3d", "Conv3d"]
    assert all(c.meta["inputs"] == branches.meta["inputs"] for _, c in branches.children())
