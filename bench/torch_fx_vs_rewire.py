#!/usr/bin/env python3
"""Side by side: switching the same exported training graph to eval with
torch.fx (upstream's approach) and with rewire (MoveExportedModelToEval).

The model is tools/synthetic_model.h's shape in PyTorch: repeated
conv -> batch_norm -> relu -> dropout blocks (4 channels, 2x4x8x8 input,
dropout p=0.1), traced in training mode with make_fx(tracing_mode="fake")
and lifted parameters/buffers (rewire_bridge.trace_training), so both sides
get exactly the same graph; the rewire side reads it through the bridge's
.pb and is timed inside `//python:bridge_tool switch` (load time excluded, best of
--repeats).

torch side: torch.ao.quantization's move_exported_model_to_eval when this
torch has it and the graph is a torch.export one; torch 1.13 has not, so the
benchmark reproduces upstream's implementation: dead-code elimination, then
torch.fx.subgraph_rewriter.replace_pattern with make_fx-traced train/eval
patterns of dropout and batch norm (upstream's _replace_dropout /
_replace_batchnorm patterns, same literals), then recompile.

    /usr/bin/python3 bench/torch_fx_vs_rewire.py [--nodes 1000 2000 20000]

Environment: REWIRE_BRIDGE_BIN (directory of an optimized bridge_tool,
e.g. built with `bazel --output_base=... build -c opt //python:bridge_tool`)
and REWIRE_DESCRIPTOR_SET, as python/rewire_bridge/runner.py.
"""
import argparse
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.fx import subgraph_rewriter  # noqa: E402
from torch.fx.experimental.proxy_tensor import make_fx  # noqa: E402

import rewire_bridge as rb  # noqa: E402

P, MOMENTUM, EPS, C = 0.1, 0.1, 1e-5, 4


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(C, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C, momentum=MOMENTUM, eps=EPS)
        self.drop = nn.Dropout(P)

    def forward(self, x):
        return self.drop(torch.relu(self.bn(self.conv(x))))


def _nodes_per_block():
    gm, _ = rb.trace_training(nn.Sequential(Block(), Block()).train(), torch.randn(2, C, 8, 8))
    g1, _ = rb.trace_training(nn.Sequential(Block()).train(), torch.randn(2, C, 8, 8))
    n2, n1 = len(gm.graph.nodes), len(g1.graph.nodes)
    return n2 - n1, n1 - (n2 - n1)


def _patterns():
    x = torch.randn(2, C, 8, 8)
    w, b, rm, rv = torch.randn(C), torch.randn(C), torch.randn(C), torch.rand(C) + 0.5

    def drop_train(x):
        return F.dropout(x, P, training=True)

    def drop_eval(x):
        return F.dropout(x, P, training=False)

    def bn_train(x, w, b, rm, rv):
        return F.batch_norm(x, rm, rv, w, b, training=True, momentum=MOMENTUM, eps=EPS)

    def bn_eval(x, w, b, rm, rv):
        return F.batch_norm(x, rm, rv, w, b, training=False, momentum=MOMENTUM, eps=EPS)

    def trace(f, *a):
        gm = make_fx(f, tracing_mode="fake")(*a)
        gm.graph.eliminate_dead_code()
        gm.recompile()
        return gm

    return [(trace(drop_train, x), trace(drop_eval, x)),
            (trace(bn_train, x, w, b, rm, rv), trace(bn_eval, x, w, b, rm, rv))]


def torch_move_to_eval(gm, patterns):
    """Upstream's move_exported_model_to_eval, for graphs torch's own
    implementation does not take (make_fx graphs / torch without it)."""
    gm.graph.eliminate_dead_code()
    gm.recompile()
    replaced = 0
    for pattern, replacement in patterns:
        replaced += len(subgraph_rewriter.replace_pattern(gm, pattern, replacement))
    gm.recompile()
    return replaced


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 2000, 20000])
    ap.add_argument("--repeats", type=int, default=3, help="rewire: best of N")
    ap.add_argument("--torch_repeats", type=int, default=1, help="torch.fx: best of N")
    ap.add_argument("--dialect", choices=["make_fx", "export"], default="make_fx",
                    help="export: torch 2.x torch.export training IR, switched by "
                         "torch.ao.quantization.move_exported_model_to_eval itself")
    args = ap.parse_args()
    if args.dialect == "export":
        return main_export(args)

    per_block, fixed = _nodes_per_block()
    patterns = _patterns()
    bin_dir = os.environ.get("REWIRE_BRIDGE_BIN", "bazel-bin/python")
    print(f"# torch {torch.__version__}, python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cpus; rewire binary: {bin_dir}")
    print(f"# make_fx graph: {per_block} nodes per block + {fixed}")
    print("| nodes | blocks | torch.fx (s) | rewire (s) | torch.fx / rewire | "
          "sites torch.fx | sites rewire |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for target in args.nodes:
        blocks = max(1, round((target - fixed) / per_block))
        torch.manual_seed(0)
        model = nn.Sequential(*[Block() for _ in range(blocks)]).train()
        x = torch.randn(2, C, 8, 8)
        gm, state = rb.trace_training(model, x)
        nodes = len(gm.graph.nodes)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.pb")
            rb.export_module(gm, path, state=state)
            rw_s, rw_nodes, rw_sites = rb.time_switch(path, repeats=args.repeats)
        assert rw_nodes == nodes, (rw_nodes, nodes)
        best, sites = float("inf"), 0
        for r in range(args.torch_repeats):
            g = gm if r == args.torch_repeats - 1 else make_fx_copy(model, x)
            t0 = time.perf_counter()
            sites = torch_move_to_eval(g, patterns)
            best = min(best, time.perf_counter() - t0)
        print(f"| {nodes} | {blocks} | {best:.4f} | {rw_s:.6f} | {best / rw_s:.0f}x | "
              f"{sites} | {rw_sites} |", flush=True)


def main_export(args):
    """torch 2.x: upstream's own move_exported_model_to_eval on ep.module()
    against rewire on the same ExportedProgram through the bridge."""
    try:
        from torch.ao.quantization import move_exported_model_to_eval
        how = "torch.ao.quantization.move_exported_model_to_eval"
    except ImportError:  # torch >= 2.10: pt2e moved to torchao
        move_exported_model_to_eval = _export_ir_move_to_eval
        how = "upstream's patterns via replace_pattern_with_filters"
    bin_dir = os.environ.get("REWIRE_BRIDGE_BIN", "bazel-bin/python")
    x = torch.randn(2, C, 8, 8)

    def export(blocks):
        torch.manual_seed(0)
        model = nn.Sequential(*[Block() for _ in range(blocks)]).train()
        return rb.export_program(model, x)

    n1, n2 = len(export(1).graph.nodes), len(export(2).graph.nodes)
    per_block, fixed = n2 - n1, n1 - (n2 - n1)
    print(f"# torch {torch.__version__} (torch.export training IR, "
          f"{how}), python "
          f"{platform.python_version()}, {os.cpu_count()} cpus; rewire binary: {bin_dir}")
    print(f"# exported graph: {per_block} nodes per block + {fixed}")
    print("| nodes | blocks | torch (s) | rewire (s) | torch / rewire | sites rewire |")
    print("|---:|---:|---:|---:|---:|---:|")
    for target in args.nodes:
        blocks = max(1, round((target - fixed) / per_block))
        ep = export(blocks)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.pb")
            rb.export_module(ep, path)
            rw_s, rw_nodes, rw_sites = rb.time_switch(path, repeats=args.repeats)
        gm = ep.module()
        t0 = time.perf_counter()
        move_exported_model_to_eval(gm)
        t = time.perf_counter() - t0
        print(f"| {rw_nodes} | {blocks} | {t:.4f} | {rw_s:.6f} | {t / rw_s:.0f}x | "
              f"{rw_sites} |", flush=True)


def _export_ir_move_to_eval(gm):
    """Upstream's _replace_dropout/_replace_batchnorm for the training IR:
    aten.dropout / aten.batch_norm with training=True -> False, literals
    ignored (so the model's own p/momentum/eps stay), after DCE."""
    aten = torch.ops.aten

    def graph(op, n_in, literals, training_at):
        g = torch.fx.Graph()
        ins = [g.placeholder(f"a{i}") for i in range(n_in)]
        lits = list(literals)
        g.output(g.call_function(op, tuple(ins) + tuple(lits)))
        return torch.fx.GraphModule(torch.nn.Module(), g)

    pats = [
        (graph(aten.dropout.default, 1, [P, True], 1), graph(aten.dropout.default, 1, [P, False], 1)),
        (graph(aten.batch_norm.default, 5, [True, MOMENTUM, EPS, False], 5),
         graph(aten.batch_norm.default, 5, [False, MOMENTUM, EPS, False], 5)),
    ]
    gm.graph.eliminate_dead_code()
    gm.recompile()
    for pat, rep in pats:
        subgraph_rewriter.replace_pattern_with_filters(gm, pat, rep, ignore_literals=False)
    gm.recompile()
    return gm


def make_fx_copy(model, x):
    gm, _ = rb.trace_training(model, x)
    return gm


if __name__ == "__main__":
    # torch.fx's replace_pattern checks for cycles with a recursive DFS
    # (fuser_utils.dfs_find_cycle): at ~20k nodes it exceeds Python's default
    # recursion limit, so run with a large limit on a thread with a big stack.
    import threading
    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1 << 30)
    t = threading.Thread(target=main)
    t.start()
    t.join()
