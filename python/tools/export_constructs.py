"""Writes the PyTorch-made graphs that rewire's train/eval tests read.

For each mode-dependent construct (in-place dropout, Dropout2d, AlphaDropout,
FeatureAlphaDropout, StochasticDepth, timm's DropPath, InstanceNorm with
running stats, RReLU, BatchNorm's num_batches_tracked, two batch norms around
a dropout, and from torch 2.x the
dropout_p of scaled_dot_product_attention) and each export form
the running torch offers (make_fx always; training IR and core ATen from
torch 2.x), it writes into tests/testdata/constructs/:

  <construct>.<form>.torch<major>.pbtxt   the exported module (train mode)
  <construct>.<form>.torch<major>.fx.txt  torch.fx's own print of the graph
  input.npy, <construct>.torch<major>.eval.npy   one input and eager eval's output

Each .pbtxt starts with comment lines naming the torch version and the
Python that produced it. Run from the repository root after
`bazel build //proto:graph_descriptor_set`, with each interpreter:

  /usr/bin/python3 python/tools/export_constructs.py   # torch 1.13, make_fx
  python3 python/tools/export_constructs.py            # torch 2.x, all forms

Models use fixed seeds and random weights; nothing is downloaded.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from rewire_bridge import exporter  # noqa: E402
from google.protobuf import text_format  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "testdata",
                   "constructs")
MAJOR = torch.__version__.split(".")[0]


class Pre(nn.Module):
    """x * 2 first, so in-place constructs never write into a graph input."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x * 2.0)


class BnStats(nn.Module):
    """Batch norm whose running statistics have moved (so eval differs)."""

    def __init__(self):
        super().__init__()
        self.m = nn.BatchNorm2d(3, momentum=0.05, eps=1e-4)
        with torch.no_grad():
            self.m.running_mean.uniform_(-1, 1)
            self.m.running_var.uniform_(0.5, 2)
            self.m.num_batches_tracked.fill_(7)

    def forward(self, x):
        return self.m(x * 2.0)


class BatchNormChain(nn.Module):
    """Two batch norms around a plain dropout: in core ATen their buffer
    copies gather at the end of the graph, away from the batch norms."""

    def __init__(self):
        super().__init__()
        self.a = nn.BatchNorm2d(3, momentum=0.05, eps=1e-4)
        self.d = nn.Dropout(0.3)
        self.b = nn.BatchNorm2d(3, momentum=0.2)
        with torch.no_grad():
            for bn in (self.a, self.b):
                bn.running_mean.uniform_(-1, 1)
                bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        return self.b(torch.relu(self.d(self.a(x * 2.0)))) + x


class AttentionDropout(nn.Module):
    """Self-attention whose dropout_p is p only while training, as timm's
    Attention and nn.MultiheadAttention pass it (torch 2.x)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        t = (x * 2.0).flatten(2).transpose(1, 2)  # (N, H*W, C)
        return torch.nn.functional.scaled_dot_product_attention(
            t, t, t, dropout_p=self.p if self.training else 0.0)


def constructs():
    torch.manual_seed(0)
    inorm = nn.InstanceNorm2d(3, eps=1e-3, momentum=0.2, affine=True,
                              track_running_stats=True)
    with torch.no_grad():
        inorm.running_mean.uniform_(-1, 1)
        inorm.running_var.uniform_(0.5, 2)
    d = {
        "dropout_inplace": Pre(nn.Dropout(0.3, inplace=True)),
        "dropout2d": Pre(nn.Dropout2d(0.3)),
        "dropout2d_inplace": Pre(nn.Dropout2d(0.3, inplace=True)),
        "alpha_dropout": Pre(nn.AlphaDropout(0.3)),
        "feature_alpha_dropout": Pre(nn.FeatureAlphaDropout(0.3)),
        "instance_norm_stats": Pre(inorm),
        "rrelu": Pre(nn.RReLU(0.1, 0.3)),
        "batch_norm_counter": BnStats(),
        "batch_norm_chain": BatchNormChain(),
    }
    if MAJOR != "1":
        d["attention_dropout"] = AttentionDropout(0.3)
    try:
        from torchvision.ops import StochasticDepth
        d["stochastic_depth_row"] = Pre(StochasticDepth(0.2, "row"))
        d["stochastic_depth_batch"] = Pre(StochasticDepth(0.2, "batch"))
    except ImportError:
        print("torchvision missing: StochasticDepth skipped", file=sys.stderr)
    try:
        from timm.layers import DropPath
        d["timm_drop_path"] = Pre(DropPath(0.1))
        d["timm_drop_path_noscale"] = Pre(DropPath(0.1, scale_by_keep=False))
    except ImportError:
        print("timm missing: DropPath skipped", file=sys.stderr)
    return d


def write(name, form, gm_or_ep, graph, state=None):
    base = os.path.join(OUT, f"{name}.{form}.torch{MAJOR}")
    msg = exporter.export_module(gm_or_ep, None, state=state)
    header = (f"# {name}, {form}, exported in train mode by "
              f"python/tools/export_constructs.py\n"
              f"# torch {torch.__version__}, Python {sys.version.split()[0]} "
              f"({sys.executable})\n")
    with open(base + ".pbtxt", "w") as f:
        f.write(header + text_format.MessageToString(msg))
    with open(base + ".fx.txt", "w") as f:
        f.write(header + str(graph))


def main():
    os.makedirs(OUT, exist_ok=True)
    x = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    np.save(os.path.join(OUT, "input.npy"), x.numpy())
    for name, m in constructs().items():
        m.eval()
        with torch.no_grad():
            np.save(os.path.join(OUT, f"{name}.torch{MAJOR}.eval.npy"), m(x.clone()).numpy())
        m.train()
        gm, state = exporter.trace_training(m, x)
        write(name, "make_fx", gm, gm.graph, state=state)
        if MAJOR != "1":
            ep = exporter.export_program(m, x)
            write(name, "training_ir", ep, ep.graph)
            core = ep.run_decompositions()
            write(name, "core_aten", core, core.graph)
        print(f"{name}: written", file=sys.stderr)


if __name__ == "__main__":
    main()
