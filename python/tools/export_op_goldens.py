"""Writes PyTorch-made golden cases for the executor's ops.

Each case is a small function of a few tensors, traced by PyTorch in one
export form (make_fx, or torch.export's training IR / core ATen where that
is the form that keeps the op), and run eagerly for the expected outputs.
Into tests/testdata/op_goldens/ go, per case:

  <case>.pbtxt          the exported module (header: torch, Python, form)
  <case>.fx.txt         torch.fx's own print of the graph
  <case>.in<i>.npy      inputs;   <case>.out<i>.npy   eager outputs

and one line per case in cases.txt: "<case> <inputs> <outputs> <atol>".
tests/op_golden_test.cc runs every case. The cases cover broadcasting,
views (non-contiguous inputs reach kernels through transposes and slices,
in-place ops write through views), negative dims and 0-size tensors.

Run from the repository root after `bazel build //proto:graph_descriptor_set`:

  python3 python/tools/export_op_goldens.py      # torch 2.x (every case)

Random values use fixed seeds; nothing is downloaded.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from rewire_bridge import exporter  # noqa: E402
from google.protobuf import text_format  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "testdata",
                   "op_goldens")
G = torch.Generator().manual_seed(7)


def r(*shape):
    return torch.randn(*shape, generator=G)


def ints(lo, hi, *shape):
    return torch.randint(lo, hi, shape, generator=G)


class Fn(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, *xs):
        return self.f(*xs)


def _views(x):
    y = x.clone()
    s = y[:, 1::2]                  # slice with a step: a strided view
    s.relu_()                       # in place through the view
    t = y.t()
    t.mul_(2)                       # in place through a transpose
    return y, s, t.select(0, -1), y.narrow(1, 1, 2)


def _split(x):
    a, b = x.split([1, 3], dim=-1)
    c = x.chunk(3, dim=0)
    u = x.unbind(1)
    return a * 1, b * 1, c[-1] * 1, u[2] * 1


def _as_strided(x):
    y = x.mean(dim=(-1, -2), keepdim=True)   # (N, C, 1, 1) -> as_strided_ in make_fx
    return y.as_strided((2, 3), (1, 2)) * 1, torch.as_strided(x, (2, 2), (3, 1), 1) + 0


def _unflatten_squeeze(x):
    return x.unflatten(1, (2, -1)).squeeze(0) * 1, x.unsqueeze(-1).squeeze((0, -1)) + 1


def _index(x, i, m):
    return x[i], x[:, i], x[i, :, i], x[m], x.index_select(-1, i[1])


def _compare(x, y):
    return (x == 0.5, x != y, x < y, x >= 1, torch.logical_not(x > 0),
            (x > 0).any(dim=-1), (x > 0).any(dim=0, keepdim=True))


def _clamp_fmod(x, n):
    return (x.clamp(-0.5, 0.5), x.clamp(min=0.1), x.clamp(max=-0.1), n.clamp(-2, 3),
            n.clamp(0.5), torch.fmod(x, 0.7), torch.fmod(n, 3), torch.fmod(n, -2.5))


def _where_masked(x, y):
    w = torch.where(x > 0, x, y.t()[:1])
    mf = x.masked_fill(x < 0, -100.0)
    return w, mf, torch.full_like(x, 3.5), x.new_zeros((2, 0)), torch.scalar_tensor(2)


def _roll_pad(x):
    return (torch.roll(x, shifts=(-1, 2), dims=(1, 2)), torch.roll(x, 5),
            F.pad(x, (0, 1, 2, 0)), F.pad(x, (-1, 1, 0, 0, 1, 1), value=2.0))


def _fill(x):
    y = x.clone()
    y[:, 0].fill_(7)
    z = x.clone()
    z[1] = x[0]                     # copy_ into a select view
    return y, z


def _arange(x):
    return torch.arange(0, 5, 2) + x.shape[0], torch.arange(1.5, 3.0, 0.5)


def _slice_scatter(x, src):
    return torch.slice_scatter(x, src, dim=1, start=1, end=5, step=2)


def _sdpa(q, k, v, m):
    return (F.scaled_dot_product_attention(q, k, v),
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            F.scaled_dot_product_attention(q, k, v, attn_mask=m),
            F.scaled_dot_product_attention(q, k, v, scale=0.3))


def _sdpa_gqa(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)


def _einsum(a, b, c):
    return (torch.einsum("B G H I D, B G H J D -> B G H I J", a, b),
            torch.einsum("ij,jk->ik", a[0, 0, 0], c),
            torch.einsum("ii->i", c[:3, :3]),
            torch.einsum("...ij->...ji", a),
            torch.einsum("bgh i d -> b d", a),
            torch.einsum("ij,jk,kl", c[:3, :3], c[:3, :3], c[:3, :3]))


def _empty(x):
    e = x[:, :0]
    return e * 2, e.sum(dim=1), x.split([0, 3], dim=1)[0] + 1


def _softmax_masked(x):
    x = x.masked_fill(torch.arange(4) >= 2, float("-inf"))
    return torch.softmax(x, -1)


def _conv(x, w, wd, b):
    return (F.conv2d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
            F.conv2d(x, wd, None, padding=1, groups=4),               # depthwise
            F.conv2d(x[0], w[:, :, :1, :1], None, stride=2, groups=2),  # unbatched, 1x1 / 2
            F.conv2d(x.transpose(2, 3), w, b, padding=(2, 0), groups=2),
            F.conv2d(x.double(), w.double(), b.double(), padding=1, groups=2))


def _matmul(a, b, w, bias):
    return (F.linear(a, w, bias), torch.addmm(bias, a[0], w.t(), beta=0.5, alpha=2.0),
            torch.bmm(a, a.transpose(1, 2)), torch.matmul(a.unsqueeze(0), b),
            torch.matmul(a[0, 0], w.t()), torch.matmul(a.double(), b.double()))


def _norms(x, w, b):
    return (F.group_norm(x, 2, w, b, eps=1e-3), F.group_norm(x, 4),
            F.layer_norm(x, (5, 6), None, None, eps=1e-4), F.layer_norm(x.transpose(1, 3), (4,), w, b))


def _baddbmm(s, a, b):
    return torch.baddbmm(s, a, b, beta=0.5, alpha=2.0), torch.baddbmm(s[:1, :1], a, b)


def _pool_softmax(x):
    return (F.max_pool2d(x, 3, 2, 1), F.max_pool2d(x, 2, ceil_mode=True),
            F.max_pool2d(x, 3, 1, 1, dilation=2),
            F.avg_pool2d(x, 3, 2, 1), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
            F.adaptive_avg_pool2d(x, (2, 3)), torch.softmax(x, -1), torch.log_softmax(x, 1),
            x.mean(dim=(-1, -2)), x.sum(dim=1, keepdim=True))


def _activations(x):
    return (F.relu(x), F.relu6(x), F.hardswish(x), F.hardsigmoid(x), F.silu(x), F.gelu(x),
            F.gelu(x, approximate="tanh"), torch.sigmoid(x), torch.tanh(x), x.exp(),
            x.abs().sqrt(), x.abs().rsqrt(), -x, x ** 2, 1 - x)


def _arith(a, b, n):
    return (a + b, a - b.t()[:1].t(), a * 2, a / b, n + 1, n * n, n / 2, a + n,
            torch.cat([a, b], dim=1), torch.cat([a, a[:, :0]], dim=1))


def _creation(x, n):
    return (torch.zeros(2, 3) + x, torch.ones_like(x), torch.full((2,), 3.5), x.to(torch.float64),
            x.repeat(2, 1), x.new_ones((2,)), torch.zeros_like(x, dtype=torch.int64), n.float(),
            (x > 0).to(torch.float32), x.t().contiguous(), x.clone().copy_(n.t()[:, :1].expand(2, 3)))


# name: (function, inputs, export form, atol)
CASES = {
    "views_inplace": (_views, lambda: [r(3, 4)], "make_fx", 0),
    "split_chunk_unbind": (_split, lambda: [r(3, 4)], "make_fx", 0),
    "split_with_sizes_core": (_split, lambda: [r(3, 4)], "core_aten", 0),
    "as_strided_make_fx": (_as_strided, lambda: [r(1, 6, 2, 2)], "make_fx", 1e-6),
    "as_strided_core": (_as_strided, lambda: [r(1, 6, 2, 2)], "core_aten", 1e-6),
    "unflatten_squeeze": (_unflatten_squeeze, lambda: [r(1, 6, 1)], "training_ir", 0),
    "squeeze_dims_core": (_unflatten_squeeze, lambda: [r(1, 6, 1)], "core_aten", 0),
    "index": (_index, lambda: [r(4, 5, 4), torch.tensor([[0, -1], [2, 3]]),
                               torch.tensor([True, False, True, True])], "make_fx", 0),
    "compare_logical_any": (_compare, lambda: [r(3, 4), r(1, 4)], "make_fx", 0),
    "compare_core": (_compare, lambda: [r(3, 4), r(1, 4)], "core_aten", 0),
    "clamp_fmod": (_clamp_fmod, lambda: [r(3, 4), ints(-9, 9, 3, 4)], "make_fx", 1e-6),
    "clamp_core": (_clamp_fmod, lambda: [r(3, 4), ints(-9, 9, 3, 4)], "core_aten", 1e-6),
    "where_masked_fill": (_where_masked, lambda: [r(3, 4), r(4, 3)], "make_fx", 0),
    "where_core": (_where_masked, lambda: [r(3, 4), r(4, 3)], "core_aten", 0),
    "roll_pad": (_roll_pad, lambda: [r(2, 3, 4)], "make_fx", 0),
    "pad_training_ir": (_roll_pad, lambda: [r(2, 3, 4)], "training_ir", 0),
    "fill_copy_views": (_fill, lambda: [r(2, 3)], "make_fx", 0),
    "arange_core": (_arange, lambda: [r(2, 3)], "core_aten", 1e-6),
    "slice_scatter": (_slice_scatter, lambda: [r(3, 6), r(3, 2)], "core_aten", 0),
    "sdpa_training_ir": (_sdpa, lambda: [r(2, 3, 5, 4), r(2, 3, 6, 4), r(2, 3, 6, 3),
                                         torch.rand(5, 6, generator=G) > 0.3],
                         "training_ir", 1e-5),
    "sdpa_make_fx": (_sdpa, lambda: [r(2, 3, 5, 4), r(2, 3, 6, 4), r(2, 3, 6, 3),
                                     torch.rand(5, 6, generator=G) > 0.3], "make_fx", 1e-5),
    "sdpa_core": (_sdpa, lambda: [r(2, 3, 5, 4), r(2, 3, 6, 4), r(2, 3, 6, 3),
                                  torch.rand(5, 6, generator=G) > 0.3], "core_aten", 1e-5),
    "sdpa_gqa": (_sdpa_gqa, lambda: [r(1, 4, 3, 2), r(1, 2, 5, 2), r(1, 2, 5, 3)],
                 "training_ir", 1e-5),
    "einsum": (_einsum, lambda: [r(1, 2, 2, 3, 4), r(1, 2, 2, 5, 4), r(4, 4)],
               "training_ir", 1e-5),
    "empty_tensors": (_empty, lambda: [r(2, 3)], "make_fx", 0),
    "safe_softmax": (_softmax_masked, lambda: [r(3, 4)], "training_ir", 1e-6),
    "conv2d": (_conv, lambda: [r(2, 4, 9, 7), r(6, 2, 3, 3), r(4, 1, 3, 3), r(6)],
               "make_fx", 1e-4),
    "matmul_linear": (_matmul, lambda: [r(2, 3, 5), r(2, 5, 4), r(6, 5), r(6)],
                      "make_fx", 1e-4),
    "matmul_training_ir": (_matmul, lambda: [r(2, 3, 5), r(2, 5, 4), r(6, 5), r(6)],
                           "training_ir", 1e-4),
    "group_layer_norm": (_norms, lambda: [r(2, 4, 5, 6), r(4), r(4)], "make_fx", 1e-5),
    "group_norm_training_ir": (_norms, lambda: [r(2, 4, 5, 6), r(4), r(4)], "training_ir", 1e-5),
    "baddbmm": (_baddbmm, lambda: [r(2, 3, 4), r(2, 3, 5), r(2, 5, 4)], "training_ir", 1e-5),
    "pool_softmax_reduce": (_pool_softmax, lambda: [r(2, 3, 7, 9)], "make_fx", 1e-5),
    "activations": (_activations, lambda: [r(3, 5) * 4], "make_fx", 1e-5),
    "activations_core": (_activations, lambda: [r(3, 5) * 4], "core_aten", 1e-5),
    "arith_broadcast": (_arith, lambda: [r(3, 4), r(3, 4), ints(-5, 5, 3, 4)], "make_fx", 1e-6),
    "creation_copies": (_creation, lambda: [r(2, 3), ints(-5, 5, 3, 2)], "make_fx", 1e-3),
    "creation_copies_core": (_creation, lambda: [r(2, 3), ints(-5, 5, 3, 2)], "core_aten", 1e-3),
}


def export(form, model, inputs):
    if form == "make_fx":
        gm, state = exporter.trace_training(model, *inputs)
        return exporter.export_module(gm, None, state=state), gm.graph
    ep = exporter.export_program(model, *inputs)
    if form == "core_aten":
        ep = ep.run_decompositions()
    return exporter.export_module(ep, None), ep.graph


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, (f, make_inputs, form, atol) in CASES.items():
        inputs = make_inputs()
        model = Fn(f)
        with torch.no_grad():
            outs = model(*[x.clone() for x in inputs])
        if isinstance(outs, torch.Tensor):
            outs = (outs,)
        msg, graph = export(form, model, inputs)
        header = (f"# {name}, {form}, made by python/tools/export_op_goldens.py\n"
                  f"# torch {torch.__version__}, Python {sys.version.split()[0]} "
                  f"({sys.executable})\n")
        base = os.path.join(OUT, name)
        with open(base + ".pbtxt", "w") as fh:
            fh.write(header + text_format.MessageToString(msg))
        with open(base + ".fx.txt", "w") as fh:
            fh.write(header + str(graph))
        for i, x in enumerate(inputs):
            np.save(f"{base}.in{i}.npy", x.numpy())
        for i, y in enumerate(outs):
            np.save(f"{base}.out{i}.npy", y.detach().contiguous().numpy())
        lines.append(f"{name} {len(inputs)} {len(outs)} {atol}")
        print(f"{name}: {form}, {len(outs)} outputs", file=sys.stderr)
    with open(os.path.join(OUT, "cases.txt"), "w") as fh:
        fh.write(f"# case inputs outputs atol; torch {torch.__version__}, made by "
                 f"python/tools/export_op_goldens.py\n")
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
