"""What the conformance runner and the table share: paths, the model
registry (pure data, no torch import) and the results-file rows."""
import argparse
import collections
import copy
import datetime
import functools
import glob
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_REWIRE = os.path.join(REPO, "bazel-bin", "tools", "rewire")
DEFAULT_RUNNER = os.path.join(REPO, "bazel-bin", "python", "bridge_tool")
DEFAULT_DESCRIPTOR = os.path.join(REPO, "bazel-bin", "proto", "graph_descriptor_set.pb")
DEFAULT_RESULTS = os.path.join(HERE, "results")
DEFAULT_TABLE = os.path.join(REPO, "docs", "CONFORMANCE.md")
MACHINE = "2 vCPU, 24 GB"

FORMS_1 = ["make_fx"]
FORMS_2 = ["make_fx", "training_ir", "core_aten"]

# --------------------------------------------------------------------------
# Model registry (pure data: no torch import needed for --table).
# kind: "tv" torchvision builder, "timm" timm.create_model, "small" below.
# kwargs: always passed; norm: the builder accepts norm_layer=BatchNorm2d
# partial; drop: dropout kwargs tried (constructor candidates fall back on
# TypeError, and what was used is recorded); size: H = W; batch.
# --------------------------------------------------------------------------
D = 0.3  # dropout p
BN_EPS, BN_MOMENTUM = 1e-3, 0.03


def _tv(name, size=64, batch=2, norm=False, drop=None, **kwargs):
    return {"kind": "tv", "ctor": name, "size": size, "batch": batch,
            "norm": norm, "drop": drop or {}, "kwargs": kwargs}


def _timm(name, size=64, batch=2, **kwargs):
    return {"kind": "timm", "ctor": name, "size": size, "batch": batch,
            "norm": False, "drop": {"drop_rate": D},
            "kwargs": dict(pretrained=False, drop_path_rate=0.1, **kwargs)}


def _small(name, expected=None):
    return {"kind": "small", "ctor": name, "expected": expected}


MODELS = collections.OrderedDict([
    ("resnet18", _tv("resnet18", norm=True)),
    ("resnet50", _tv("resnet50", norm=True)),
    ("resnext50_32x4d", _tv("resnext50_32x4d", norm=True)),
    ("wide_resnet50_2", _tv("wide_resnet50_2", norm=True)),
    ("mobilenet_v2", _tv("mobilenet_v2", norm=True, drop={"dropout": D})),
    ("mobilenet_v3_large", _tv("mobilenet_v3_large", norm=True, drop={"dropout": D})),
    ("mobilenet_v3_small", _tv("mobilenet_v3_small", norm=True, drop={"dropout": D})),
    ("efficientnet_b1", _tv("efficientnet_b1", norm=True, drop={"dropout": D})),
    ("efficientnet_v2_s", _tv("efficientnet_v2_s", norm=True, drop={"dropout": D})),
    ("mnasnet1_0", _tv("mnasnet1_0", drop={"dropout": D})),
    ("shufflenet_v2_x1_0", _tv("shufflenet_v2_x1_0")),
    ("squeezenet1_1", _tv("squeezenet1_1", drop={"dropout": D})),
    ("inception_v3", _tv("inception_v3", size=75, drop={"dropout": D},
                         aux_logits=False, init_weights=False)),
    ("regnet_y_400mf", _tv("regnet_y_400mf", norm=True)),
    ("convnext_small", _tv("convnext_small")),
    ("swin_t", _tv("swin_t", drop={"dropout": D, "attention_dropout": D})),
    ("vit_b_32", _tv("vit_b_32", image_size=64,
                     drop={"dropout": D, "attention_dropout": D})),
    ("maxvit_t", _tv("maxvit_t", size=224, batch=1, norm=True,
                     drop={"mlp_dropout": D, "attention_dropout": D})),
    ("timm_convnext_atto", _timm("convnext_atto")),
    ("timm_efficientnet_b0", _timm("efficientnet_b0")),
    ("timm_deit_tiny_patch16_224", _timm("deit_tiny_patch16_224", img_size=64)),
    ("dropout_inplace", _small("dropout_inplace")),
    ("dropout2d", _small("dropout2d")),
    ("alpha_dropout", _small("alpha_dropout")),
    ("feature_alpha_dropout", _small("feature_alpha_dropout")),
    ("stochastic_depth_row", _small("stochastic_depth_row")),
    ("stochastic_depth_batch", _small("stochastic_depth_batch")),
    ("timm_drop_path", _small("timm_drop_path")),
    ("instance_norm_stats", _small("instance_norm_stats")),
    ("rrelu", _small("rrelu")),
    ("batch_norm", _small("batch_norm")),
    ("batch_norm_momentum_none", _small(
        "batch_norm_momentum_none",
        expected="export failure (cumulative average reads num_batches_tracked)")),
])
SMALL = [n for n, s in MODELS.items() if s["kind"] == "small"]
FULL = [n for n in MODELS if n != "mobilenet_v3_small"]
SUBSETS = {
    # The transformers exercise views, indexing and attention.
    "ci": SMALL + ["resnet18", "mobilenet_v3_small", "vit_b_32",
                   "timm_deit_tiny_patch16_224", "maxvit_t"],
    "small": SMALL,
    "full": FULL,
}


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------
def short(msg, n=200):
    msg = " ".join(str(msg).strip().split())
    return msg if len(msg) <= n else msg[: n - 3] + "..."


def first_error_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    for l in lines:
        if l.startswith("error:"):
            return l[len("error:"):].strip()
    return lines[-1] if lines else ""


def exc_msg(e):
    text = str(e).strip().splitlines()
    return short(f"{type(e).__name__}: {text[0] if text else ''}")


class quiet_stderr:
    """Sends file descriptor 2 to a scratch file (torch logs whole graphs
    when an export fails; the row keeps the short message)."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        self.scratch = tempfile.TemporaryFile()
        os.dup2(self.scratch.fileno(), 2)
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.scratch.close()
        return False


def binary_id(path):
    """'sha256[:12] (mtime)' of a binary, to tell rewire builds apart."""
    import hashlib
    if not path or not os.path.exists(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path))
    return f"{h.hexdigest()[:12]} (built {mtime.strftime('%Y-%m-%d %H:%M:%S')})"


def append_row(path, row):
    with open(path, "a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_rows(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by a crash
    return rows


def torch_version_cheap(python):
    out = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, timeout=120)
    return out.stdout.strip().splitlines()[-1]


def results_path(results_dir, torch_version):
    return os.path.join(results_dir, f"torch-{torch_version.split('+')[0]}.jsonl")

