"""Lists the aten ops every model of the conformance set exports, per form.

Writes tests/testdata/conformance_ops/torch-<major.minor>.txt: a header
naming the torch, torchvision and timm versions, then one line per op,
"<op> <form>[,<form>...] <model>[,<model>...]". The executor's test
(tests/conformance_ops_test.cc) checks that each op listed has a kernel, so
a model of the conformance table never stops at "no kernel for op".

  python3 python/tools/conformance_ops.py             # torch 2.x
  /usr/bin/python3 python/tools/conformance_ops.py    # torch 1.13

Models are built exactly as python/conformance builds them (train mode,
random weights); the graphs are traced, not run through rewire.
"""
import argparse
import collections
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "conformance"))

import common  # noqa: E402
import conformance  # noqa: E402


def ops_of(graph):
    out = set()
    for n in graph.nodes:
        if n.op != "call_function":
            continue
        name = str(n.target)
        if not name.startswith("aten."):
            continue  # getitem and other Python builtins
        if name.count(".") == 1:  # OpOverloadPacket printed without overload
            name += ".default"
        out.add(name)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="full", help="subset name or comma list")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    repo = common.REPO
    fake = types.SimpleNamespace(rewire=os.path.join(repo, "bazel-bin/tools/rewire"),
                                 runner=os.path.join(repo, "bazel-bin/python/bridge_tool"))
    w = conformance.Worker(fake)
    torch = w.torch
    names = common.SUBSETS.get(args.models) or args.models.split(",")
    found = collections.defaultdict(lambda: (set(), set()))
    for name in names:
        if common.MODELS[name].get("expected"):
            continue
        try:
            model, x, _ = w.build(name)
        except Exception as e:  # noqa: BLE001
            print(f"{name}: skipped ({type(e).__name__}: {e})", file=sys.stderr)
            continue
        ep = None
        for form in w.forms:
            try:
                with common.quiet_stderr():
                    if form == "make_fx":
                        gm, _ = w.exporter.trace_training(model, x)
                        graph = gm.graph
                    else:
                        if ep is None:
                            ep = w.exporter.export_program(model, x)
                        g = ep.run_decompositions() if form == "core_aten" else ep
                        graph = g.graph
            except Exception as e:  # noqa: BLE001
                print(f"{name} {form}: export failed ({type(e).__name__})", file=sys.stderr)
                continue
            for op in ops_of(graph):
                found[op][0].add(form)
                found[op][1].add(name)
        print(f"{name}: done", file=sys.stderr)
    ver = ".".join(torch.__version__.split(".")[:2])
    out = args.out or os.path.join(repo, "tests", "testdata", "conformance_ops",
                                   f"torch-{ver}.txt")
    with open(out, "w") as f:
        f.write(f"# aten ops of the conformance models ({args.models}), made by "
                f"python/tools/conformance_ops.py\n")
        f.write("# " + " ".join(f"{k} {v}" for k, v in sorted(w.versions.items())) + "\n")
        for op in sorted(found):
            forms, models = found[op]
            f.write(f"{op} {','.join(sorted(forms))} {','.join(sorted(models))}\n")
    print(out)


if __name__ == "__main__":
    main()
