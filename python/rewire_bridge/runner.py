"""Runs rewire's C++ side on a bridged .pb through //python:bridge_tool:
`bridge_tool switch` (train/eval switch + report) and `bridge_tool run`
(executor). The binary is looked up in $REWIRE_BRIDGE_BIN, else bazel-bin/python
of this checkout."""
import dataclasses
import os
import subprocess
import tempfile

import numpy as np

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RewireError(RuntimeError):
    """bridge_tool failed; the message holds its stderr."""


def _tool(subcommand):
    """The argv prefix that runs `bridge_tool SUBCOMMAND`."""
    d = os.environ.get("REWIRE_BRIDGE_BIN") or os.path.join(_REPO, "bazel-bin", "python")
    path = os.path.join(d, "bridge_tool")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: run `bazel build //python:bridge_tool`")
    return [path, subcommand]


def _call(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RewireError(f"{os.path.basename(args[0])} {args[1]} failed ({p.returncode}): "
                          f"{p.stderr.strip()}")
    return p.stdout


@dataclasses.dataclass
class Report:
    text: str
    sites: list  # (pattern, dialect, rewritten)
    left_alone: list  # dicts with node, target, reason
    notes: list
    total_rewritten: int

    def rewritten(self, pattern):
        return sum(n for p, _, n in self.sites if p == pattern)


def _parse_report(text):
    sites, left, notes, total = [], [], [], 0
    for line in text.splitlines():
        if line.startswith("site "):
            kv = dict(x.split("=", 1) for x in line[5:].split())
            sites.append((kv["pattern"], kv["dialect"], int(kv["rewritten"])))
        elif line.startswith("left_alone "):
            rest = line[len("left_alone "):]
            node, rest = rest.split(" target=", 1)
            target, reason = rest.split(" reason=", 1)
            left.append({"node": node[len("node="):], "target": target, "reason": reason})
        elif line.startswith("note "):
            notes.append(line[5:])
        elif line.startswith("total_rewritten="):
            total = int(line.split("=", 1)[1])
    return Report(text, sites, left, notes, total)


def switch(model_pb, out_pb, to="eval"):
    """MoveExportedModelToEval (to="eval") / ...ToTrain; returns the Report."""
    return _parse_report(_call(_tool("switch") + ["--model", model_pb,
                                                  "--to", to, "--out", out_pb]))


def run(model_pb, inputs, save_module=None, seed=0):
    """Executes the module on `inputs` (numpy arrays, InputPlaceholders()
    order). Returns (outputs: list of arrays or None, updated_state names)."""
    with tempfile.TemporaryDirectory(prefix="rewire_bridge_") as d:
        args = _tool("run") + ["--model", model_pb, "--out_dir", d, "--seed", str(seed)]
        for i, x in enumerate(inputs):
            p = os.path.join(d, f"input_{i}.npy")
            np.save(p, np.ascontiguousarray(x))
            args += ["--input", p]
        if save_module:
            args += ["--save_module", save_module]
        stdout = _call(args)
        updated = []
        for line in stdout.splitlines():
            if line.startswith("updated_state="):
                updated = [s for s in line.split("=", 1)[1].split(",") if s]
        outputs = []
        with open(os.path.join(d, "outputs.txt")) as f:
            for line in f:
                _, _, file = line.split()
                outputs.append(None if file == "none" else np.load(os.path.join(d, file)))
        return outputs, updated


def time_switch(model_pb=None, repeats=3, synthetic_blocks=0):
    """Seconds (best of `repeats`) rewire's MoveExportedModelToEval takes on
    the model (load time excluded); returns (seconds, nodes, rewritten)."""
    args = _tool("switch") + ["--time_switch", str(repeats)]
    args += (["--synthetic_blocks", str(synthetic_blocks)] if synthetic_blocks
             else ["--model", model_pb])
    kv = dict(l.split("=", 1) for l in _call(args).splitlines() if "=" in l)
    return float(kv["switch_seconds_min"]), int(kv["nodes"]), int(kv["rewritten"])
