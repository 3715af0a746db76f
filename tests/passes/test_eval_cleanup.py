from graphspec.mobile.passes import EvalCleanup

from passes_support import ops, run_and_compare, weighted


def test_dropout_leaves_the_graph_and_eval_output_is_unchanged():
    assert "Dropout" in ops(weighted()[2])  # X3D's head has dropout 0.5
    graph = run_and_compare(EvalCleanup())
    assert "Dropout" not in ops(graph)
