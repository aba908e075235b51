#!/usr/bin/env python3
"""rewire's executor against eager PyTorch on the same models and threads.

For each model (torchvision ResNet-50, MobileNetV2, ViT-B/32; random
weights) and batch size: the model is exported in train mode (torch.export
training IR through rewire_bridge), switched to eval by `rewire eval`, and
run by //bench:executor_bench; eager PyTorch runs model.eval() on the same
input in its own process. Each side reports the median time per forward and
its peak resident memory minus the memory after loading (the run's
working set; the peak counter is reset after loading). Prints a Markdown table with the ratios rewire / PyTorch.

    bazel build -c opt //bench:executor_bench //tools:rewire //proto:graph_descriptor_set
    python3 bench/executor_vs_torch.py [--threads 2] [--batches 1 8] [--iters 10]

Output shapes are compared too (the values are the conformance table's
business, python/conformance).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {"resnet50": {}, "mobilenet_v2": {}, "vit_b_32": {}}


def torch_worker(name, batch, iters, threads):
    import time

    import torch
    import torchvision
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    _reset_peak()
    load = _rss_mb()
    with torch.no_grad():
        for _ in range(2):
            model(x)
        ms = []
        for _ in range(iters):
            t = time.perf_counter()
            model(x)
            ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    peak = _peak_mb()
    print(json.dumps({"ms_median": ms[len(ms) // 2], "ms_min": ms[0],
                      "load_rss_mb": load, "peak_rss_mb": peak}))


def _reset_peak():
    # Resets VmHWM to the current RSS (Linux >= 4.0): the peak then measures
    # the runs, not the imports and model construction.
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / (1 << 20)


def export(name, batch, d):
    import numpy as np
    import torch
    import torchvision
    sys.path.insert(0, os.path.join(REPO, "python"))
    from rewire_bridge import exporter
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).train()
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    train = os.path.join(d, f"{name}_{batch}.train.pb")
    exporter.export_module(exporter.export_program(model, x), train)
    evalp = os.path.join(d, f"{name}_{batch}.eval.pb")
    subprocess.run([os.path.join(REPO, "bazel-bin/tools/rewire"), "eval", train, "-o", evalp],
                   check=True, stdout=subprocess.DEVNULL)
    xp = os.path.join(d, f"{name}_{batch}.x.npy")
    np.save(xp, x.numpy())
    return evalp, xp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--torch-worker", nargs=2, metavar=("MODEL", "BATCH"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_worker:
        torch_worker(a.torch_worker[0], int(a.torch_worker[1]), a.iters, a.threads)
        return
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    bench = os.path.join(REPO, "bazel-bin/bench/executor_bench")
    import torch
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus; "
          f"torch {torch.__version__}; threads {a.threads}; {a.iters} timed runs, median\n")
    print("| model | batch | PyTorch ms | rewire ms | time ratio | PyTorch MB | rewire MB | memory ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for name in a.models:
            for batch in a.batches:
                model, x = export(name, batch, d)
                t = json.loads(subprocess.run(
                    [sys.executable, __file__, "--torch-worker", name, str(batch),
                     "--iters", str(a.iters), "--threads", str(a.threads)],
                    check=True, capture_output=True, text=True, env=env).stdout)
                r = json.loads(subprocess.run(
                    [bench, model, x, "--iters", str(a.iters)],
                    check=True, capture_output=True, text=True, env=env).stdout)
                tm = t["peak_rss_mb"] - t["load_rss_mb"]
                rm = r["peak_rss_mb"] - r["load_rss_mb"]
                print(f"| {name} | {batch} | {t['ms_median']:.1f} | {r['ms_median']:.1f} | "
                      f"{r['ms_median'] / t['ms_median']:.2f}x | {tm:.0f} | {rm:.0f} | "
                      f"{rm / max(tm, 1):.2f}x |", flush=True)


if __name__ == "__main__":
    main()
